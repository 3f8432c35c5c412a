// Types for openapi-fetch from the committed documents: `format: binary` becomes Blob (the
// documented openapi-typescript recipe), so file parts and downloads are typed as files.
import fs from "node:fs";
import ts from "typescript";
import openapiTS, { astToString } from "openapi-typescript";

const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const NULL = ts.factory.createLiteralTypeNode(ts.factory.createNull());

fs.mkdirSync("generated/ts", { recursive: true });
for (const name of ["v1", "mobile-v1"]) {
  const ast = await openapiTS(new URL(`../openapi/${name}.json`, import.meta.url), {
    // Fields with a default stay optional in request bodies (create with only the required fields).
    defaultNonNullable: false,
    transform(schema, options) {
      if (schema.format === "binary") {
        return options.path?.endsWith("nullable") ? ts.factory.createUnionTypeNode([BLOB, NULL]) : BLOB;
      }
      return undefined;
    },
  });
  fs.writeFileSync(`generated/ts/${name}.ts`, astToString(ast));
  console.log(`generated/ts/${name}.ts`);
}
