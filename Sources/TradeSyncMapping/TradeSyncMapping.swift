// TradeSyncMapping
