"""Money: Decimal amounts in ISO 4217 currencies, and how a post shows them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Active ISO 4217 codes (funds and precious-metal codes left out: nobody sells a laptop in XAU).
_ISO_4217 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
CURRENCIES = frozenset(_ISO_4217.split())
# ISO 4217 minor units where they are not 2. Shopify sends amounts in these to the currency's
# precision ("12.345" KWD); outlet keeps them exact and shows at least two decimals.
THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
NO_DECIMALS = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
MAX_DECIMALS = 3  # the most any ISO 4217 currency has
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "INR": "₹"}
CENT = Decimal("0.01")
MILL = Decimal("0.001")


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.001 KWD, 0.01 USD (and 1 JPY)."""
    if currency in THREE_DECIMALS:
        return MILL
    return Decimal(1) if currency in NO_DECIMALS else CENT


def decimal_string(amount: Decimal, currency: str) -> str:
    """An amount as the report shows it: two decimals, three for the currencies that have three
    ("1234.50" USD, "12.345" KWD, "1500.00" JPY), never rounded away from what was recorded."""
    places = max(2, -int(minor_unit(currency).as_tuple().exponent))
    return f"{amount:.{places}f}"


def format_money(amount: Decimal, currency: str) -> str:
    """``$1,299`` for whole amounts, ``$19.99`` otherwise; unknown symbols as ``1,299 CHF``."""
    whole = amount == amount.to_integral_value()
    text = f"{amount:,.0f}" if whole else f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def percent_off(price: Decimal, list_price: Decimal) -> int:
    return int(((list_price - price) / list_price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def decimals(currency: str) -> int:
    """How many digits after the point an amount in ``currency`` has (ISO 4217 minor units)."""
    return -minor_unit(currency).as_tuple().exponent  # type: ignore[operator]


def format_amount(amount: Decimal | str, currency: str) -> str:
    """An exact amount for people reading a report: ``$107,286.00``, ``€24,680.00``, ``KWD 1,234.500``,
    ``¥1,200``: the currency's own decimals, thousands separated, a symbol where one is unambiguous."""
    places = decimals(currency)
    value = Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{abs(value):,.{places}f}"
    sign = "-" if value < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency} {text}"
