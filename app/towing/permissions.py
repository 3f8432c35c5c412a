from app.core.permissions import define

TOW_READ = define("tow.read", "查看拖机申请、任务与登记", "View tow requests, tasks and registrations")
TOW_REQUEST = define("tow.request", "填写并提交拖机申请", "Create and submit tow requests")
TOW_DISPATCH = define("tow.dispatch", "派发拖机任务", "Assign tow tasks")
TOW_REGISTER = define("tow.register", "拖机登记", "Register a towed machine")
TOW_OVERRIDE_MIN_DPD = define("tow.override_min_dpd", "逾期天数未达最低天数时仍可申请拖机 (须填写理由)",
                              "File a tow request below the company's minimum days past due (with a reason)")
