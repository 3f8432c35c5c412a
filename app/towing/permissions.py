from app.core.permissions import define

TOW_READ = define("tow.read", "查看拖机申请、任务与登记", "View tow requests, tasks and registrations")
TOW_REQUEST = define("tow.request", "填写并提交拖机申请", "Create and submit tow requests")
TOW_DISPATCH = define("tow.dispatch", "派发拖机任务", "Assign tow tasks")
TOW_REGISTER = define("tow.register", "拖机登记", "Register a towed machine")
