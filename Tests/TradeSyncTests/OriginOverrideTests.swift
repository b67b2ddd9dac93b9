import Foundation
import Testing
@testable import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncStore

/// DESIGN §7 "Overrides replace the origin": `base_url` replaces scheme, host and port of every
/// API URL and keeps the provider's path (behind its own path prefix); `hosts` wins for its host.
@Suite struct OriginOverrideTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var base: String?
        var hosts: [String: String] = [:]
        var url: String
        var expected: String
        var testDescription: String { name }
    }

    static let insights =
        "https://businessprofileperformance.googleapis.com/v1/locations/9:fetchMultiDailyMetricsTimeSeries?dailyMetrics=CALL_CLICKS&dailyMetrics=WEBSITE_CLICKS"

    static let cases: [Case] = [
        Case(name: "no override: the provider's URL", base: nil,
             url: "https://mybusiness.googleapis.com/v4/accounts/1/locations/2/reviews",
             expected: "https://mybusiness.googleapis.com/v4/accounts/1/locations/2/reviews"),
        Case(name: "base_url with a path prefix keeps Google's path behind it", base: "http://127.0.0.1:8099/google",
             url: "https://mybusinessaccountmanagement.googleapis.com/v1/accounts",
             expected: "http://127.0.0.1:8099/google/v1/accounts"),
        Case(name: "every Google host goes to the same origin", base: "http://127.0.0.1:8099/google",
             url: "https://mybusinessbusinessinformation.googleapis.com/v1/accounts/1/locations",
             expected: "http://127.0.0.1:8099/google/v1/accounts/1/locations"),
        Case(name: "the query is kept as written", base: "http://127.0.0.1:8099/google", url: insights,
             expected: "http://127.0.0.1:8099/google/v1/locations/9:fetchMultiDailyMetricsTimeSeries?dailyMetrics=CALL_CLICKS&dailyMetrics=WEBSITE_CLICKS"),
        Case(name: "a base_url without a path serves the provider's paths at its root", base: "http://127.0.0.1:9000/",
             url: "https://mybusiness.googleapis.com/v4/accounts/1/locations/2/localPosts",
             expected: "http://127.0.0.1:9000/v4/accounts/1/locations/2/localPosts"),
        Case(name: "https and a default port", base: "https://proxy.internal",
             url: "https://api.servicetitan.io/jpm/v2/tenant/1/export/jobs",
             expected: "https://proxy.internal/jpm/v2/tenant/1/export/jobs"),
        Case(name: "hosts wins over base_url for its host", base: "http://127.0.0.1:8099/google",
             hosts: ["mybusiness.googleapis.com": "http://127.0.0.1:9001"],
             url: "https://mybusiness.googleapis.com/v4/accounts/1/locations/2/reviews",
             expected: "http://127.0.0.1:9001/v4/accounts/1/locations/2/reviews"),
        Case(name: "hosts leaves other hosts to base_url", base: "http://127.0.0.1:8099/google",
             hosts: ["mybusiness.googleapis.com": "http://127.0.0.1:9001"],
             url: "https://mybusinessaccountmanagement.googleapis.com/v1/accounts",
             expected: "http://127.0.0.1:8099/google/v1/accounts"),
        Case(name: "hosts alone touches only its host", base: nil,
             hosts: ["mybusiness.googleapis.com": "http://[::1]:9001/v"],
             url: "https://mybusiness.googleapis.com/v4/x", expected: "http://[::1]:9001/v/v4/x"),
        Case(name: "hosts alone leaves the others at the provider", base: nil,
             hosts: ["mybusiness.googleapis.com": "http://127.0.0.1:9001"],
             url: "https://mybusinessaccountmanagement.googleapis.com/v1/accounts",
             expected: "https://mybusinessaccountmanagement.googleapis.com/v1/accounts"),
        Case(name: "host keys match without regard to case", base: nil,
             hosts: ["MyBusiness.GoogleAPIs.com": "http://127.0.0.1:9001"],
             url: "https://mybusiness.googleapis.com/v4/x", expected: "http://127.0.0.1:9001/v4/x"),
    ]

    @Test(arguments: cases)
    func overridesReplaceTheOrigin(_ c: Case) {
        #expect(OriginOverrides(base: c.base, hosts: c.hosts).apply(to: c.url) == c.expected)
    }

    @Test(arguments: [
        ("http://127.0.0.1:8099/google", "http", "127.0.0.1", 8099 as Int?, "/google"),
        ("HTTPS://Example.COM", "https", "example.com", nil, ""),
        ("http://[::1]:80/x?y#z", "http", "[::1]", 80, "/x?y#z"),
    ])
    func urlsSplitAtTheOrigin(text: String, scheme: String, host: String, port: Int?, rest: String) throws {
        let u = try #require(HTTPURL(text))
        #expect(u.scheme == scheme && u.host == host && u.port == port && u.rest == rest)
    }

    @Test(arguments: ["127.0.0.1:8099/google", "ftp://x", "http://", "http://user:pw@host/", "http://host:99999/", "http://h:x/"])
    func notAnOverrideURL(_ text: String) {
        #expect(HTTPURL(text) == nil)
    }

    /// The runtime of a deployed connection: relative paths go to the provider's base, then
    /// the overrides apply to them exactly as to absolute ones.
    @Test func theRuntimeSendsEveryGoogleStreamToTheOverride() throws {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let google = try #require(project.integration("google-business-profile"))
        let config = #"{"base_url":"http://127.0.0.1:8099/google","token_url":"http://127.0.0.1:8099/google/token","authorize_url":"http://127.0.0.1:8099/google/o/oauth2/v2/auth","hosts":{"businessprofileperformance.googleapis.com":"http://127.0.0.1:9003/perf"}}"#
        let record = ConnectionRecord(demoId: "d", connectionKey: "g", integrationType: google.provider, configJSON: config,
                                      syncFrequency: "hourly", autoSync: true)
        let runtime = try ConnectionRuntime(record: record, project: project)
        #expect(runtime.tokenURL == "http://127.0.0.1:8099/google/token")
        #expect(runtime.authorizeURL == "http://127.0.0.1:8099/google/o/oauth2/v2/auth")
        var urls: [String: String] = [:]
        for s in google.streams.entries {
            let path = try runtime.renderPath(s.value.request.path.value, parent: ["account": "accounts/1", "location": "locations/2"], cursor: nil)
            urls[s.name] = runtime.url(forPath: path)
        }
        #expect(urls["accounts"] == "http://127.0.0.1:8099/google/v1/accounts")
        #expect(urls["locations"] == "http://127.0.0.1:8099/google/v1/accounts/1/locations")
        #expect(urls["reviews"] == "http://127.0.0.1:8099/google/v4/accounts/1/locations/2/reviews")
        #expect(urls["posts"] == "http://127.0.0.1:8099/google/v4/accounts/1/locations/2/localPosts")
        #expect(urls["insights"]?.hasPrefix("http://127.0.0.1:9003/perf/v1/locations/2:fetchMultiDailyMetricsTimeSeries?dailyMetrics=") == true)

        // Without overrides: Google's own hosts.
        let plain = try ConnectionRuntime(
            record: ConnectionRecord(demoId: "d", connectionKey: "g", integrationType: google.provider, syncFrequency: "hourly", autoSync: true),
            project: project)
        #expect(plain.url(forPath: "/v4/accounts/1/locations/2/reviews") == "https://mybusiness.googleapis.com/v4/accounts/1/locations/2/reviews")
        #expect(plain.tokenURL == "https://oauth2.googleapis.com/token")
        #expect(plain.authorizeURL == "https://accounts.google.com/o/oauth2/v2/auth")
    }

    /// The paths of the four Google API hosts must not collide, or one base_url could not stand
    /// in for all of them.
    @Test func googlesPathsAreDisjointAcrossItsHosts() throws {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let google = try #require(project.integration("google-business-profile"))
        var shapes: [String: String] = [:]  // path shape → host
        for s in google.streams.entries {
            let raw = s.value.request.path.value
            let full = raw.hasPrefix("/") ? (google.baseURL ?? "") + raw : raw
            let url = try #require(HTTPURL(full))
            let shape = url.path.replacingOccurrences(of: #"\{[^}]*\}"#, with: "*", options: .regularExpression)
            if let other = shapes[shape] { #expect(other == url.host, "\(shape) is served by \(other) and \(url.host)") }
            shapes[shape] = url.host
        }
        #expect(Set(shapes.values).count == 4)
    }

    @Test func theDeployerStoresEveryOverride() throws {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let deployment = try #require(project.deployments.first)
        let google = try #require(deployment.contractors.first?.connections.first { $0.id?.value == "austin-google" })
        var withHosts = google
        withHosts.hosts = NamedMap([.init(name: "mybusiness.googleapis.com", value: "http://127.0.0.1:9001",
                                          location: google.location, keyPath: "hosts.mybusiness.googleapis.com")])
        let record = Deployer.connectionRecord(
            withHosts, contractor: "demo-123", integration: try #require(project.integration("google-business-profile")))
        let config = try JSONValue.parse(record.configJSON)
        #expect(config["base_url"]?.stringValue == "http://127.0.0.1:8099/google")
        #expect(config["token_url"]?.stringValue == "http://127.0.0.1:8099/google/token")
        #expect(config["authorize_url"]?.stringValue == "http://127.0.0.1:8099/google/o/oauth2/v2/auth")
        #expect(config["hosts"]?["mybusiness.googleapis.com"]?.stringValue == "http://127.0.0.1:9001")
    }
}
