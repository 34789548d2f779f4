"""What outlet reads from a Shopify order (``orders/create``, ``orders/cancelled``): its id, total
and currency, when it was placed, the discount codes it used and which line items each code
discounted. Nothing personal (customer, addresses, email) is read or kept."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from chalicelib.money import CURRENCIES, MAX_DECIMALS

UNSPECIFIED = "unspecified"  # a refund transaction that names no currency: the order's own


def _canonical_id(value: object) -> object:
    """Shopify ids are 64-bit integers: ``123``, ``"123"`` and ``"000123"`` are one id, kept as the
    string ``"123"`` (so one order is one item whichever way a payload spells it). Anything else
    is left for the pattern to refuse."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value.lstrip("0") or "0"
    return value


ShopifyId = Annotated[str, BeforeValidator(_canonical_id)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=MAX_DECIMALS)]  # 3: KWD, BHD, OMR...


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Money(_Payload):
    amount: Amount
    currency_code: str


class PriceSet(_Payload):
    shop_money: Money
    presentment_money: Money


class DiscountCode(_Payload):
    code: str = Field(min_length=1, max_length=255)


class DiscountApplication(_Payload):
    type: str
    code: str | None = Field(default=None, max_length=255)  # only ``discount_code`` applications carry one


class DiscountAllocation(_Payload):
    discount_application_index: int | None = None


ID_PATTERN = r"^[0-9]{1,20}$"
Quantity = Annotated[int, Field(ge=0, le=1_000_000)]


class LineItem(_Payload):
    id: ShopifyId = Field(pattern=ID_PATTERN)
    quantity: Quantity
    discount_allocations: list[DiscountAllocation] = []


class ShopifyOrder(_Payload):
    id: ShopifyId = Field(pattern=ID_PATTERN)
    name: str | None = Field(default=None, max_length=100)  # the shop's order name, "#1001"
    currency: str
    presentment_currency: str | None = None  # the customer's, when the shop sells in several
    total_price_set: PriceSet | None = None
    current_total_price: Amount | None = None  # current API versions
    total_price: Amount | None = None  # older payloads (and Shopify's test notification) carry only this
    created_at: AwareDatetime | None = None
    test: bool = False

    @field_validator("created_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValueError("not a plausible order time")
        return value

    # Bounded so one order always fits one table item and one transaction.
    discount_codes: list[DiscountCode] = Field(default=[], max_length=100)
    discount_applications: list[DiscountApplication] = Field(default=[], max_length=100)
    line_items: list[LineItem] = Field(default=[], max_length=1000)

    @property
    def total(self) -> Decimal:
        if self.current_total_price is not None:
            return self.current_total_price
        return self.total_price if self.total_price is not None else Decimal(0)

    @property
    def currency_code(self) -> str | None:
        code = self.currency.upper()
        return code if code in CURRENCIES else None

    def placed_at(self, received_at: datetime) -> datetime:
        return self.created_at or received_at

    def shop_per_presentment(self) -> Decimal | None:
        """Shop money per unit of the customer's currency for this order (from ``total_price_set``),
        so a refund in the customer's currency can be taken back in the shop's."""
        prices = self.total_price_set
        if prices is None or not prices.presentment_money.amount:
            return None
        return prices.shop_money.amount / prices.presentment_money.amount

    def lines_by_code(self) -> dict[str, tuple[LineItem, ...]]:
        """Each discount code the order used (upper-cased) and the line items it discounted.

        A code's lines are those whose discount allocations point at its application; a code
        that discounted no line (an order-level or shipping code, or one listed only in
        ``discount_codes``) is credited with every line of the order.
        """
        applications = {
            position: app.code.strip().upper()
            for position, app in enumerate(self.discount_applications)
            if app.type == "discount_code" and app.code and app.code.strip()
        }
        names = {c.code.strip().upper() for c in self.discount_codes if c.code.strip()} | set(applications.values())
        lines: dict[str, tuple[LineItem, ...]] = {}
        for name in sorted(names):
            positions = {p for p, code in applications.items() if code == name}
            allocated = tuple(
                item
                for item in self.line_items
                if any(a.discount_application_index in positions for a in item.discount_allocations)
            )
            lines[name] = allocated or tuple(self.line_items)
        return lines


class RefundLine(_Payload):
    line_item_id: ShopifyId = Field(pattern=ID_PATTERN)
    quantity: Quantity


class RefundTransaction(_Payload):
    kind: str
    status: str | None = None
    amount: Amount
    currency: str | None = None


class ShopifyRefund(_Payload):
    """A ``refunds/create`` payload: Shopify's Refund resource (money back, lines returned)."""

    id: ShopifyId = Field(pattern=ID_PATTERN)
    order_id: ShopifyId = Field(pattern=ID_PATTERN)
    refund_line_items: list[RefundLine] = Field(default=[], max_length=1000)
    transactions: list[RefundTransaction] = Field(default=[], max_length=100)

    def amounts(self) -> dict[str, Decimal]:
        """Money that went back by currency (successful ``refund`` transactions); ``UNSPECIFIED``
        when a transaction names none, which is the order's own currency."""
        back: dict[str, Decimal] = {}
        for t in self.transactions:
            if t.kind == "refund" and t.status in (None, "success"):
                currency = t.currency.upper() if t.currency else UNSPECIFIED
                back[currency] = back.get(currency, Decimal(0)) + t.amount
        return back

    def lines(self) -> dict[str, int]:
        returned: dict[str, int] = {}
        for line in self.refund_line_items:
            returned[line.line_item_id] = returned.get(line.line_item_id, 0) + line.quantity
        return returned
