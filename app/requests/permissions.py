from app.core.permissions import define

REQUEST_READ = define("request.read", "查看减免/结清/GPS费申请", "View waiver, settlement and GPS fee requests")
WAIVER_REQUEST = define("waiver.request", "申请利息减免", "Request interest waivers")
SETTLEMENT_REQUEST = define("settlement.request", "申请结清", "Request settlements and record the release of documents")
GPS_FEE_REQUEST = define("gps_fee.request", "申请GPS服务费", "Request GPS service fees")
