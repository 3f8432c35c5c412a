"""Every message to the customer is on the case's timeline (kind `message`)."""

from app.collection.repository import register_timeline_part
from app.messages.repository import timeline_part

register_timeline_part(timeline_part)
