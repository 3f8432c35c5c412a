"""Function permissions of attachments. Reading needs none of its own: an attachment is readable by its
uploader and by whoever may read what it is attached to (app/attachments/service.py)."""

from app.core.permissions import define

ATTACHMENT_UPLOAD = define("attachment.upload", "上传附件", "Upload attachments (photos and scans from the field)")
