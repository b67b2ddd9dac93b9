// TradeSyncSources
