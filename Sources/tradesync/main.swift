import TradeSyncCLI

await TradeSyncCommand.runFromCommandLine()
