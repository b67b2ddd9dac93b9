// TradeSyncSandbox
