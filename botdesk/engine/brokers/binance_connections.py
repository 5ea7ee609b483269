"""The Binance broker's connections: one REST client per exchange account (rebuilt when
the account is edited), one request gate per host (Binance counts request weight per IP
and host) and each symbol's filters, fetched once."""

from binance.client import Client

from botdesk.db.exchange_accounts import credentials
from botdesk.db.models import Environment, ExchangeAccount
from botdesk.engine.brokers.binance_filters import SymbolFilters
from botdesk.engine.brokers.binance_rest import BinanceRest, ExchangeRefused, RestGate


class BinanceConnections:
    def __init__(self, settings, *, client_factory=Client, on_ban=None):
        self.settings = settings
        self.client_factory = client_factory
        self.on_ban = on_ban
        self.gates: dict[str, RestGate] = {}
        self.clients: dict[int, tuple[object, BinanceRest]] = {}
        self.symbol_filters: dict[tuple[str, str], SymbolFilters] = {}

    def rest_for(self, account: ExchangeAccount) -> BinanceRest:
        stamp = (account.updated_at, account.environment, account.base_url)
        cached = self.clients.get(account.id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        api_key, api_secret = credentials(account, self.settings)
        testnet = account.environment == Environment.TESTNET
        client = self.client_factory(
            api_key,
            api_secret,
            testnet=testnet,
            ping=False,
            requests_params={"timeout": self.settings.BINANCE_TIMEOUT_SECONDS},
        )
        if account.base_url:  # a local test server
            client.API_URL = client.API_TESTNET_URL = f"{account.base_url.rstrip('/')}/api"
        host = client.API_TESTNET_URL if testnet else client.API_URL
        gate = self.gates.setdefault(host, RestGate())
        rest = BinanceRest(client, gate, on_ban=self.on_ban)
        self.clients[account.id] = (stamp, rest)
        return rest

    def filters(self, rest: BinanceRest, account: ExchangeAccount, symbol: str) -> SymbolFilters:
        key = (account.environment + (account.base_url or ""), symbol)
        cached = self.symbol_filters.get(key)
        if cached is None:
            info = rest.call("get_symbol_info", symbol=symbol)
            if info is None:
                raise ExchangeRefused(-1121, f"Binance does not list {symbol}")
            cached = self.symbol_filters[key] = SymbolFilters.from_exchange_info(info)
        return cached
