/// Controls of the Jobber, QuickBooks, Yelp and SerpApi emulators: consent as if a user had
/// clicked through, change records, and read the counters tests assert on.
extension ProviderSandbox {
    // MARK: Jobber

    /// A Jobber refresh token, as if the account owner had approved the app.
    public func issueJobberRefreshToken() -> String { core.jobber.issueRefreshToken() }

    public func isJobberRefreshTokenValid(_ token: String) -> Bool {
        core.state.withLock { $0.jobber.grants.isAlive(token, now: SandboxTime.now()) }
    }

    /// Jobber token requests answered with invalid_grant.
    public var jobberInvalidGrantCount: Int { core.state.withLock { $0.jobber.grants.invalidGrants } }

    /// Changes `count` generated records of a Jobber connection ("clients", "jobs" or "quotes")
    /// now; returns their encoded ids.
    @discardableResult
    public func touchJobber(_ connection: String, count: Int) -> [String] { core.jobber.touch(connection, count: count) }

    /// Points left in the Jobber query-cost bucket now.
    public var jobberCurrentlyAvailable: Int { core.jobber.currentlyAvailable() }

    /// Records a Jobber connection holds: "clients", "jobs", "quotes", "visits", "users".
    public func jobberRecordCount(_ connection: String) -> Int { core.jobber.data.count(connection) }

    // MARK: QuickBooks

    /// A QuickBooks refresh token for the configured company, as if consent had happened.
    public func issueQuickBooksRefreshToken() -> String { core.quickbooks.issueRefreshToken() }

    public func isQuickBooksRefreshTokenValid(_ token: String) -> Bool {
        core.state.withLock { $0.quickbooks.grants.isAlive(token, now: SandboxTime.now()) }
    }

    /// Changes `count` records of "Customer", "Invoice" or "Payment" now (new LastUpdatedTime,
    /// SyncToken + 1); returns their Ids.
    @discardableResult
    public func touchQuickBooks(_ entity: String, count: Int) -> [String] {
        guard let e = QBEntity(rawValue: entity) else { return [] }
        return core.quickbooks.touch(e, count: count)
    }

    /// Deletes `count` records of an entity now: they leave the query results and appear in the
    /// CDC feed with `status: "Deleted"`. Returns their Ids.
    @discardableResult
    public func deleteQuickBooks(_ entity: String, count: Int) -> [String] {
        guard let e = QBEntity(rawValue: entity) else { return [] }
        return core.quickbooks.delete(e, count: count)
    }

    /// Generated records of an entity (deleted ones included).
    public func quickBooksRecordCount(_ entity: String) -> Int {
        QBEntity(rawValue: entity).map { core.quickbooks.data.count($0) } ?? 0
    }

    /// Customers a bare `SELECT * FROM Customer` returns (the active ones).
    public var quickBooksActiveCustomerCount: Int {
        let data = core.quickbooks.data
        return (0..<data.count(.customer)).filter { data.customer($0).active }.count
    }

    // MARK: Yelp

    /// Calls counted against the Yelp key's daily limit.
    public var yelpCallsToday: Int { core.state.withLock { $0.yelp.callsToday } }

    /// A new day: the daily limit starts again.
    public func resetYelpDailyLimit() { core.state.withLock { $0.yelp.callsToday = 0 } }

    /// The contractor's own business (index 0): its Yelp id and alias.
    public var yelpBusiness: (id: String, alias: String) {
        let b = core.yelp.data.businesses[0]
        return (b.id, b.alias)
    }

    /// Adds `count` new reviews to a business (0 = the contractor's): they become the newest.
    public func addYelpReviews(business: Int = 0, count: Int) {
        core.state.withLock { $0.yelp.addedReviews[business, default: 0] += max(0, count) }
    }

    // MARK: SerpApi

    /// Searches left on the SerpApi plan.
    public var serpApiSearchesLeft: Int {
        core.state.withLock { $0.serpapi.searchesLeft ?? core.serpapi.configuration.searchesLeft }
    }

    public func setSerpApiSearchesLeft(_ count: Int) { core.state.withLock { $0.serpapi.searchesLeft = max(0, count) } }

    /// The contractor's place_id in the Google Maps results.
    public var serpApiOwnPlaceId: String { core.serpapi.data.own.placeId }

    /// The contractor's 1-based rank for a keyword, nil when it is not listed.
    public func serpApiOwnRank(_ keyword: String) -> Int? {
        core.serpapi.configuration.emptyKeywords.contains(keyword.lowercased()) ? nil : core.serpapi.data.ownRank(keyword)
    }

    /// Places Google Maps lists for a keyword.
    public func serpApiResultCount(_ keyword: String) -> Int {
        core.serpapi.configuration.emptyKeywords.contains(keyword.lowercased()) ? 0 : core.serpapi.data.resultCount(keyword)
    }
}
