from app.approvals.request_routes import request_routes
from app.core.pagination import SortKey
from app.core.routers import api_router
from app.expenses import permissions as P
from app.expenses.approval import EXPENSE
from app.expenses.models import ExpenseRequest
from app.expenses.schemas import ExpenseCreate, ExpenseOut, ExpenseUpdate

router = api_router(tags=["expenses"])

request_routes(router, EXPENSE, path="/expense-requests", resource="expense_request", id_name="expense_id",
               create=ExpenseCreate, update=ExpenseUpdate, out=ExpenseOut, read=P.EXPENSE_READ,
               write=P.EXPENSE_CREATE, sorts={"amount": SortKey("amount", ExpenseRequest.amount)})
