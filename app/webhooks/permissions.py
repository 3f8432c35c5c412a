from app.core.permissions import define

WEBHOOK_MANAGE = define("webhook.manage", "管理集成事件订阅 (Webhook)",
                        "Manage webhook subscriptions, read their deliveries and redeliver")
