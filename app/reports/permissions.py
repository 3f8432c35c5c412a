"""Function permission of reports: reading them (every figure is still limited to the caller's data
scope)."""

from app.core.permissions import define

REPORT_READ = define("report.read", "查看报表", "View management reports (aging, roll rates, collector "
                     "performance, promises, sales) within one's data scope")
