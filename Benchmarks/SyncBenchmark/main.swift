// One benchmark scenario per process: `raw` (fetch every export page, no parse: the transport's
// limit), `download` (fetch and parse every export page, nothing else), `full` (sync into an
// empty store) or `incremental` (sync again with no changes at the source). Prints one JSON
// line: records, seconds, records/s, peak RSS.
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine
import TradeSyncSources

struct Arguments {
    var mode = "full"
    var sandbox = "http://127.0.0.1:8099"
    var store = "sqlite:/tmp/tradesync-bench.sqlite"
    var project = "."
    var label = ""
    /// `claims-setup`: how many due connections to queue.
    var connections = 10_000

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            switch a {
            case "--mode": mode = it.next() ?? mode
            case "--sandbox": sandbox = it.next() ?? sandbox
            case "--store": store = it.next() ?? store
            case "--project": project = it.next() ?? project
            case "--label": label = it.next() ?? label
            case "--connections": connections = Int(it.next() ?? "") ?? connections
            default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
            }
        }
    }
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // Linux reports KiB
}

func report(_ fields: [String: JSONValue]) {
    var o = JSONObject()
    for k in fields.keys.sorted() { o[k] = fields[k] }
    print(JSONValue.object(o).jsonText)
}

let args = Arguments()
let environment: @Sendable (String) -> String? = { name in
    ["BENCH_ST_CLIENT_ID": "sandbox-st-client", "BENCH_ST_CLIENT_SECRET": "sandbox-st-secret",
     "BENCH_ST_APP_KEY": "sandbox-st-app-key"][name]
}
let transport = AsyncHTTPTransport()

if args.mode == "claims-setup" || args.mode == "claims" {
    try await claimsBenchmark(args)
    exit(0)
}

let exportURL = args.sandbox + "/servicetitan/jpm/v2/tenant/1234567/export/jobs?includeRecentChanges=true"

if args.mode == "raw" {
    // Pages are followed by finding `"continueFrom":"…"` in the bytes, not by parsing them.
    let auth = OAuth2ClientCredentials(
        client: OAuthClient(tokenURL: args.sandbox + "/servicetitan/connect/token", clientId: "sandbox-st-client",
                            clientSecret: "sandbox-st-secret", style: .form),
        transport: transport)
    let marker = Array("\"continueFrom\":\"".utf8)
    let more = Array("\"hasMore\":true".utf8)
    func find(_ needle: [UInt8], in body: [UInt8]) -> Int? {
        guard body.count >= needle.count else { return nil }
        // The paging fields close the page: search from the end.
        var i = body.count - needle.count
        while i >= 0 {
            if body[i] == needle[0], Array(body[i..<(i + needle.count)]) == needle { return i }
            i -= 1
        }
        return nil
    }
    let start = Date()
    var bytes = 0
    var pages = 0
    var url = exportURL
    while true {
        var request = HTTPRequestData(url: url, headers: [("ST-App-Key", "sandbox-st-app-key")])
        try await auth.authorize(&request)
        let response = try await transport.send(request, timeout: .seconds(60))
        bytes += response.body.count
        pages += 1
        guard let at = find(marker, in: response.body), find(more, in: response.body) != nil else { break }
        let tokenStart = at + marker.count
        var end = tokenStart
        while end < response.body.count, response.body[end] != 34 { end += 1 }
        let token = String(decoding: response.body[tokenStart..<end], as: UTF8.self)
        url = exportURL + "&from=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)
    }
    let seconds = Date().timeIntervalSince(start)
    let records = Int64(args.label) ?? 0
    report(["mode": "raw", "label": .string(args.label), "records": .integer(records), "pages": .integer(Int64(pages)),
            "megabytes": .number(String(format: "%.1f", Double(bytes) / 1_048_576)),
            "seconds": .number(String(format: "%.3f", seconds)),
            "records_per_second": .integer(Int64(Double(records) / seconds)),
            "peak_rss_mb": .number(String(format: "%.1f", peakRSSMegabytes()))])
    await transport.shutdown()
    exit(0)
}

if args.mode == "download" {
    let auth = OAuth2ClientCredentials(
        client: OAuthClient(tokenURL: args.sandbox + "/servicetitan/connect/token", clientId: "sandbox-st-client",
                            clientSecret: "sandbox-st-secret", style: .form),
        transport: transport)
    let requester = Requester(transport: transport, authenticator: auth)
    var paginator = Paginator(
        requester: requester,
        request: RequestSpec(method: "GET", url: exportURL, headers: [("ST-App-Key", "sandbox-st-app-key")]),
        pagination: PageTokenPagination(tokenParam: "from", tokenPath: JSONPath("continueFrom"), sizeParam: nil, size: nil,
                                        hasMorePath: JSONPath("hasMore")),
        records: JSONPath("data"))
    let start = Date()
    var records = 0
    while let page = try await paginator.next() { records += page.records.count }
    let seconds = Date().timeIntervalSince(start)
    report(["mode": "download", "label": .string(args.label), "records": .integer(Int64(records)),
            "seconds": .number(String(format: "%.3f", seconds)),
            "records_per_second": .integer(Int64(Double(records) / seconds)),
            "peak_rss_mb": .number(String(format: "%.1f", peakRSSMegabytes()))])
    await transport.shutdown()
    exit(0)
}

// A deployment made in memory: one ServiceTitan connection pointed at the sandbox.
let project = ProjectLoader.load(root: args.project, deploymentFiles: [])
guard !project.diagnostics.hasErrors, let integration = project.integration("servicetitan") else {
    FileHandle.standardError.write(Data("configuration errors in \(args.project)\n".utf8))
    exit(1)
}
guard let location = StoreLocation(parsing: args.store, relativeTo: "") else {
    FileHandle.standardError.write(Data("unknown store \(args.store): expected sqlite:PATH or postgres://…\n".utf8))
    exit(2)
}
// The engine's one entry opens the store and its own transport, as the CLI does.
let workspace = try await Workspace.open(
    project: project, deployment: nil, inputs: WorkspaceInputs(storeOverride: location, environment: environment))
_ = try await workspace.migrate()
let connection = try await workspace.register(ConnectionRecord(
    demoId: "bench", connectionKey: "bench-servicetitan", integrationType: "servicetitan",
    credentialsJSON: "{\"client_id\":\"env:BENCH_ST_CLIENT_ID\",\"client_secret\":\"env:BENCH_ST_CLIENT_SECRET\",\"app_key\":\"env:BENCH_ST_APP_KEY\"}",
    configJSON: ConnectionSettings(
        fields: ["tenant_id": "1234567"], streams: ["jobs"], baseURL: args.sandbox + "/servicetitan",
        tokenURL: args.sandbox + "/servicetitan/connect/token").jsonText,
    syncFrequency: integration.defaultFrequency.columnValue, autoSync: true))
let start = Date()
let result = try await workspace.sync(connection, options: SyncOptions(streams: ["jobs"]))
let seconds = Date().timeIntervalSince(start)
report(["mode": .string(args.mode), "label": .string(args.label), "store": .string(workspace.storeLocation.kind),
        "status": .string(result.status.rawValue), "records": .integer(Int64(result.fetched)),
        "inserted": .integer(Int64(result.inserted)), "updated": .integer(Int64(result.updated)),
        "seconds": .number(String(format: "%.3f", seconds)),
        "records_per_second": .integer(seconds > 0 ? Int64(Double(result.fetched) / seconds) : 0),
        "peak_rss_mb": .number(String(format: "%.1f", peakRSSMegabytes()))])
try await workspace.close()
await transport.shutdown()
