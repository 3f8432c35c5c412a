from app.core.permissions import define

DEVICE_READ = define("device.read", "查看锁机/开机申请与设备指令", "View lock and unlock requests and device commands")
LOCK_REQUEST = define("lock.request", "填写并提交锁机申请", "Create and submit lock requests")
UNLOCK_REQUEST = define("unlock.request", "填写并提交开机申请", "Create and submit unlock requests")
