import Foundation
import TradeSyncCore

/// A GraphQL error with where it happened (graphql-ruby's wording where the sandbox knows it).
struct GraphQLError: Error {
    var message: String
    var line: Int?
    var column: Int?
    var code: String?
}

/// Runs one read query against the generated Jobber account: resolves the selection tree over
/// the Query root (clients, jobs, quotes, visits, users and their single-record forms), writes
/// the `data` object, and computes the query cost the way Jobber describes it (every field
/// costs 1, `nodes`/`edges`/`node` cost nothing, a connection multiplies its nodes' cost by
/// `first`/`last`, or by 100 when neither is given).
struct JobberExecution {
    let data: JobberData
    let document: GraphQLDocument
    let operation: GraphQLDocument.Operation
    let variables: JSONObject
    let changes: [String: [Int: Int64]]
    /// Nodes each root connection returned, by response key (for the actual cost).
    private(set) var returned: [String: Int] = [:]

    typealias Field = GraphQLDocument.Field
    typealias Value = GraphQLDocument.Value

    init(data: JobberData, document: GraphQLDocument, operation: GraphQLDocument.Operation, variables: JSONObject, changes: [String: [Int: Int64]]) {
        self.data = data
        self.document = document
        self.operation = operation
        self.variables = variables
        self.changes = changes
    }

    static let rootConnections: [String: String] = ["clients": "clients", "jobs": "jobs", "quotes": "quotes", "visits": "visits", "users": "users"]
    static let rootSingles: [String: String] = ["client": "clients", "job": "jobs", "quote": "quotes", "visit": "visits", "user": "users"]

    // MARK: variables and values

    func checkVariables() throws(GraphQLError) {
        for definition in operation.variables where definition.type.hasSuffix("!") && definition.defaultValue == nil {
            let value = variables[definition.name]
            if value == nil || value?.isNull == true {
                throw GraphQLError(message: "Variable $\(definition.name) of type \(definition.type) was provided invalid value", code: "variableMismatch")
            }
        }
    }

    func resolve(_ value: Value) throws(GraphQLError) -> JSONValue {
        switch value {
        case .variable(let name):
            guard let definition = operation.variables.first(where: { $0.name == name }) else {
                throw GraphQLError(message: "Variable $\(name) is used by \(operation.name ?? "anonymous query") but not declared", code: "variableNotDefined")
            }
            if let given = variables[name] { return given }
            return try definition.defaultValue.map { v throws(GraphQLError) in try resolve(v) } ?? .null
        case .int(let i): return .integer(i)
        case .float(let f): return .number(f)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .enumValue(let e): return .string(e)
        case .list(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try resolve(item)) }
            return .array(out)
        case .object(let fields):
            var out: [(key: String, value: JSONValue)] = []
            for (k, v) in fields { out.append((k, try resolve(v))) }
            return .object(JSONObject(out))
        }
    }

    func argument(_ field: Field, _ name: String) throws(GraphQLError) -> JSONValue? {
        guard let v = field.argument(name) else { return nil }
        let resolved = try resolve(v)
        // Not `isNull ? nil : resolved`: JSONValue is nil-literal expressible, so that nil
        // would become `.some(.null)`.
        if resolved.isNull { return nil }
        return resolved
    }

    func intArgument(_ field: Field, _ name: String) throws(GraphQLError) -> Int? {
        guard let v = try argument(field, name) else { return nil }
        guard case .integer(let i) = v, i >= 0, i <= Int64(Int32.max) else {
            throw GraphQLError(message: "Argument '\(name)' on Field '\(field.name)' has an invalid value (\(v.jsonText)). Expected type 'Int'.", line: field.line, column: field.column, code: "argumentLiteralsIncompatible")
        }
        return Int(i)
    }

    /// The fields of a selection set, fragments expanded (type conditions are not checked
    /// against the schema: every selection of a fragment applies).
    func fields(_ selections: [GraphQLDocument.Selection], depth: Int = 0) throws(GraphQLError) -> [Field] {
        guard depth < 20 else { throw GraphQLError(message: "Fragments are nested too deeply (a cycle?)") }
        var out: [Field] = []
        for s in selections {
            switch s {
            case .field(let f): out.append(f)
            case .inline(_, let inner): out += try fields(inner, depth: depth + 1)
            case .spread(let name, let line, let column):
                guard let fragment = document.fragments[name] else {
                    throw GraphQLError(message: "Fragment \(name) was used, but not defined", line: line, column: column, code: "useAndDefineFragment")
                }
                out += try fields(fragment.selections, depth: depth + 1)
            }
        }
        return out
    }

    // MARK: cost

    func cost(_ selections: [GraphQLDocument.Selection], actual: [String: Int]?) throws(GraphQLError) -> Int {
        var total = 0
        for f in try fields(selections) {
            if f.name == "__typename" { continue }
            if Self.rootConnections[f.name] != nil || f.name == "assignedUsers" {
                let firstArgument = try intArgument(f, "first")
                let lastArgument = try intArgument(f, "last")
                let requested = min(Self.maxPage, firstArgument ?? lastArgument ?? Self.maxPage)
                let n = Self.rootConnections[f.name] != nil ? actual?[f.responseKey] ?? requested : requested
                total += 1
                for sub in try fields(f.selections) {
                    switch sub.name {
                    case "nodes": total += n * (try cost(sub.selections, actual: nil))
                    case "edges":
                        for e in try fields(sub.selections) {
                            total += e.name == "node" ? n * (try cost(e.selections, actual: nil)) : n
                        }
                    case "__typename": break
                    default: total += 1 + (try cost(sub.selections, actual: nil))
                    }
                }
            } else {
                total += 1 + (try cost(f.selections, actual: nil))
            }
        }
        return total
    }

    static let maxPage = 100

    // MARK: execution

    mutating func run(into out: inout JSONBuffer) throws(GraphQLError) {
        out.raw("{")
        var first = true
        for f in try fields(operation.selections) {
            if !first { out.raw(",") }
            first = false
            key(f, &out)
            if f.name == "__typename" { out.raw("\"Query\""); continue }
            if let connection = Self.rootConnections[f.name] {
                let items = try order(connection, f)
                returned[f.responseKey] = try writeConnection(f, items: items, typeName: JobberData.typeName(connection), &out) { i, sel, out throws(GraphQLError) in
                    try writeNode(connection, i, sel, &out)
                }
            } else if let connection = Self.rootSingles[f.name] {
                guard case .string(let id)? = try argument(f, "id") else {
                    throw GraphQLError(message: "Field '\(f.name)' is missing required arguments: id", line: f.line, column: f.column, code: "missingRequiredArguments")
                }
                if let i = data.index(connection, encodedId: id) { try writeNode(connection, i, f.selections, &out) } else { out.raw("null") }
            } else {
                throw undefined(f, on: "Query")
            }
        }
        out.raw("}")
    }

    private func key(_ f: Field, _ out: inout JSONBuffer) {
        out.string(f.responseKey)
        out.raw(":")
    }

    private func undefined(_ f: Field, on type: String) -> GraphQLError {
        GraphQLError(message: "Field '\(f.name)' doesn't exist on type '\(type)'", line: f.line, column: f.column, code: "undefinedField")
    }

    private func scalar(_ f: Field, _ type: String) throws(GraphQLError) {
        guard f.selections.isEmpty else {
            throw GraphQLError(message: "Selections can't be made on scalars (field '\(f.name)' returns \(type) but has selections)", line: f.line, column: f.column, code: "selectionMismatch")
        }
    }

    private func object(_ f: Field, _ type: String) throws(GraphQLError) {
        guard !f.selections.isEmpty else {
            throw GraphQLError(message: "Field must have selections (field '\(f.name)' returns \(type) but has no selections. Did you mean '\(f.name) { ... }'?)", line: f.line, column: f.column, code: "selectionMismatch")
        }
    }

    /// Writes `{…}` for a selection set; `resolve` writes one field's value and returns false
    /// for a field the type does not have.
    private func writeObject(
        _ type: String, _ selections: [GraphQLDocument.Selection], _ out: inout JSONBuffer,
        _ resolve: (Field, inout JSONBuffer) throws(GraphQLError) -> Bool
    ) throws(GraphQLError) {
        out.raw("{")
        var first = true
        for f in try fields(selections) {
            if !first { out.raw(",") }
            first = false
            key(f, &out)
            if f.name == "__typename" {
                out.string(type)
                continue
            }
            guard try resolve(f, &out) else { throw undefined(f, on: type) }
        }
        out.raw("}")
    }

    private func time(_ ticks: Int64?, _ out: inout JSONBuffer) { out.timestampOrNull(ticks: ticks, fractionDigits: 0) }

    private func updated(_ connection: String, _ i: Int) -> Int64 { changes[connection]?[i] ?? data.baseUpdated(connection, i) }

    // MARK: connections

    /// Index order (creation order) filtered by `filter`, re-ordered by `sort`.
    private func order(_ connection: String, _ f: Field) throws(GraphQLError) -> [Int] {
        let allowed: [String: Set<String>] = [
            "clients": ["first", "after", "last", "before", "offset", "filter", "sort", "searchTerm"],
            "jobs": ["first", "after", "last", "before", "offset", "filter", "sort", "searchTerm"],
            "quotes": ["first", "after", "last", "before", "offset", "filter", "sort", "searchTerm"],
            "visits": ["first", "after", "last", "before", "offset", "filter", "sort", "timezone"],
            "users": ["first", "after", "last", "before", "offset", "filter", "sort"],
        ]
        for (name, _) in f.arguments where !(allowed[connection]?.contains(name) ?? false) {
            throw GraphQLError(message: "Field '\(f.name)' doesn't accept argument '\(name)'", line: f.line, column: f.column, code: "argumentNotAccepted")
        }
        var items = Array(0..<data.count(connection))
        if let filter = try argument(f, "filter") {
            let inputType = "\(JobberData.typeName(connection))FilterAttributes"
            guard case .object(let o) = filter else {
                throw GraphQLError(message: "Argument 'filter' on Field '\(f.name)' has an invalid value (\(filter.jsonText)). Expected type '\(inputType)'.", line: f.line, column: f.column, code: "argumentLiteralsIncompatible")
            }
            // Jobs have no updatedAt filter (sort by UPDATED_AT instead): as in Jobber's schema.
            let ranges: [String: Set<String>] = [
                "clients": ["updatedAt", "createdAt"], "quotes": ["updatedAt", "createdAt"], "jobs": ["createdAt"],
                "visits": ["createdAt"], "users": [],
            ]
            for (name, value) in o.entries {
                if ranges[connection]?.contains(name) == true {
                    if value.isNull { continue }
                    guard case .object(let range) = value else {
                        throw GraphQLError(message: "Argument '\(name)' on InputObject '\(inputType)' has an invalid value (\(value.jsonText)). Expected type 'Iso8601DateTimeRangeInput'.", line: f.line, column: f.column, code: "argumentLiteralsIncompatible")
                    }
                    var after: Int64?
                    var before: Int64?
                    for (bound, v) in range.entries {
                        if v.isNull { continue }
                        guard bound == "after" || bound == "before", let text = v.stringValue, let micros = Timestamp.parse(text) else {
                            throw GraphQLError(message: "Argument '\(bound)' on InputObject 'Iso8601DateTimeRangeInput' has an invalid value (\(v.jsonText)). Expected type 'ISO8601DateTime'.", line: f.line, column: f.column, code: "argumentLiteralsIncompatible")
                        }
                        if bound == "after" { after = micros * 10 } else { before = micros * 10 }
                    }
                    let created = name == "createdAt"
                    items = items.filter { i in
                        let t = created ? data.created(connection, i) : updated(connection, i)
                        return (after.map { t > $0 } ?? true) && (before.map { t < $0 } ?? true)
                    }
                } else if name == "status", connection == "jobs" || connection == "quotes" {
                    guard let status = value.stringValue else { continue }
                    items = items.filter { connection == "jobs" ? data.job($0).status == status : data.quote($0).status == status }
                } else if name == "isArchived", connection == "clients", let b = value.boolValue {
                    items = items.filter { data.client($0).archived == b }
                } else {
                    throw GraphQLError(message: "Argument 'filter' on Field '\(f.name)' has an invalid value (\(filter.jsonText)). Expected type '\(inputType)'.", line: f.line, column: f.column, code: "argumentLiteralsIncompatible")
                }
            }
        }
        if let sort = try argument(f, "sort") {
            let list: [JSONValue] = sort.arrayValue ?? [sort]
            guard let s = list.first, let key = s["key"]?.stringValue else {
                throw GraphQLError(message: "Argument 'sort' on Field '\(f.name)' has an invalid value (\(sort.jsonText)).", line: f.line, column: f.column, code: "argumentLiteralsIncompatible")
            }
            let direction = s["direction"]?.stringValue ?? "ASCENDING"
            guard direction == "ASCENDING" || direction == "DESCENDING" else {
                throw GraphQLError(message: "Argument 'direction' has an invalid value (\(direction)). Expected type 'SortDirectionEnum!'.", line: f.line, column: f.column, code: "argumentLiteralsIncompatible")
            }
            let descending = direction == "DESCENDING"
            if key == "UPDATED_AT" {
                let times = Dictionary(uniqueKeysWithValues: items.map { ($0, updated(connection, $0)) })
                items.sort { a, b in
                    let (x, y) = (times[a] ?? 0, times[b] ?? 0)
                    return x != y ? (descending ? x > y : x < y) : (descending ? a > b : a < b)
                }
            } else if descending {
                // Other keys (JOB_NUMBER, CREATED_AT, …) follow the creation order here.
                items.reverse()
            }
        }
        return items
    }

    /// Writes a connection page; returns how many nodes it holds.
    private func writeConnection(
        _ f: Field, items: [Int], typeName: String, _ out: inout JSONBuffer,
        _ node: (Int, [GraphQLDocument.Selection], inout JSONBuffer) throws(GraphQLError) -> Void
    ) throws(GraphQLError) -> Int {
        try object(f, "\(typeName)Connection!")
        let last = try argument(f, "last")
        let before = try argument(f, "before")
        if last != nil || before != nil {
            throw GraphQLError(message: "The sandbox pages forward only (first/after/offset): 'last' and 'before' are not emulated", line: f.line, column: f.column)
        }
        var start = 0
        if let after = try argument(f, "after") {
            guard let text = after.stringValue, let data = Data(base64Encoded: text), let s = String(data: data, encoding: .utf8), let n = Int(s), n >= 0 else {
                throw GraphQLError(message: "Invalid cursor: \(after.jsonText)", line: f.line, column: f.column)
            }
            start = n
        }
        if let offset = try intArgument(f, "offset") { start = offset }
        let firstArgument = try intArgument(f, "first")
        let size = min(Self.maxPage, firstArgument ?? Self.maxPage)
        let page = Array(items.dropFirst(start).prefix(size))
        func cursor(_ position: Int) -> String { Data(String(position).utf8).base64EncodedString() }
        try writeObject("\(typeName)Connection", f.selections, &out) { sub, out throws(GraphQLError) in
            switch sub.name {
            case "nodes":
                try object(sub, "[\(typeName)!]!")
                out.raw("[")
                for (n, i) in page.enumerated() {
                    if n > 0 { out.raw(",") }
                    try node(i, sub.selections, &out)
                }
                out.raw("]")
            case "edges":
                try object(sub, "[\(typeName)Edge!]")
                out.raw("[")
                for (n, i) in page.enumerated() {
                    if n > 0 { out.raw(",") }
                    try writeObject("\(typeName)Edge", sub.selections, &out) { e, out throws(GraphQLError) in
                        switch e.name {
                        case "cursor": try scalar(e, "String!"); out.string(cursor(start + n + 1))
                        case "node": try object(e, typeName); try node(i, e.selections, &out)
                        default: return false
                        }
                        return true
                    }
                }
                out.raw("]")
            case "pageInfo":
                try object(sub, "PageInfo!")
                try writeObject("PageInfo", sub.selections, &out) { p, out throws(GraphQLError) in
                    try scalar(p, "String")
                    switch p.name {
                    case "hasNextPage": out.bool(start + page.count < items.count)
                    case "hasPreviousPage": out.bool(start > 0)
                    case "startCursor": page.isEmpty ? out.raw("null") : out.string(cursor(start + 1))
                    case "endCursor": page.isEmpty ? out.raw("null") : out.string(cursor(start + page.count))
                    default: return false
                    }
                    return true
                }
            case "totalCount":
                try scalar(sub, "Int!")
                out.int(items.count)
            default:
                return false
            }
            return true
        }
        return page.count
    }

    // MARK: nodes

    private func writeNode(_ connection: String, _ i: Int, _ selections: [GraphQLDocument.Selection], _ out: inout JSONBuffer) throws(GraphQLError) {
        switch connection {
        case "clients": try writeClient(i, selections, &out)
        case "jobs": try writeJob(i, selections, &out)
        case "quotes": try writeQuote(i, selections, &out)
        case "visits": try writeVisit(i, selections, &out)
        default: try writeUser(i, selections, &out)
        }
    }

    private func writeClient(_ i: Int, _ selections: [GraphQLDocument.Selection], _ out: inout JSONBuffer) throws(GraphQLError) {
        let c = data.client(i)
        try writeObject("Client", selections, &out) { f, out throws(GraphQLError) in
            switch f.name {
            case "id": try scalar(f, "EncodedId!"); out.string(data.encodedId("clients", i))
            case "name": try scalar(f, "String!"); out.string(data.clientName(c))
            case "firstName": try scalar(f, "String!"); out.string(c.first)
            case "lastName": try scalar(f, "String!"); out.string(c.last)
            case "companyName": try scalar(f, "String"); out.stringOrNull(c.company)
            case "isCompany": try scalar(f, "Boolean!"); out.bool(c.company != nil)
            case "isArchived": try scalar(f, "Boolean!"); out.bool(c.archived)
            case "isLead": try scalar(f, "Boolean!"); out.bool(false)
            case "title": try scalar(f, "String"); out.raw("null")
            case "balance": try scalar(f, "Float!"); out.raw("0.0")
            case "createdAt": try scalar(f, "ISO8601DateTime!"); time(data.created("clients", i), &out)
            case "updatedAt": try scalar(f, "ISO8601DateTime!"); time(updated("clients", i), &out)
            case "jobberWebUri": try scalar(f, "String!"); out.string("https://secure.getjobber.com/clients/\(JobberData.numericBase("clients") + i)")
            case "emails":
                try object(f, "[Email!]!")
                out.raw("[")
                try writeObject("Email", f.selections, &out) { e, out throws(GraphQLError) in
                    try scalar(e, "String")
                    switch e.name {
                    case "id": out.string(Data("gid://Jobber/Email/\(i)".utf8).base64EncodedString())
                    case "address": out.string(c.first.lowercased() + "." + c.last.lowercased().filter { $0.isLetter } + "\(i)@example.com")
                    case "primary": out.bool(true)
                    case "description": out.string("MAIN")
                    default: return false
                    }
                    return true
                }
                out.raw("]")
            case "phones":
                try object(f, "[ClientPhoneNumber!]!")
                out.raw("[")
                if c.hasPhone {
                    try writeObject("ClientPhoneNumber", f.selections, &out) { p, out throws(GraphQLError) in
                        try scalar(p, "String")
                        switch p.name {
                        case "id": out.string(Data("gid://Jobber/ClientPhoneNumber/\(i)".utf8).base64EncodedString())
                        case "number": out.string("512-555-\(String(1_000 + i % 9_000))")
                        case "primary": out.bool(true)
                        case "description": out.string("Mobile")
                        case "smsAllowed": out.bool(true)
                        default: return false
                        }
                        return true
                    }
                }
                out.raw("]")
            case "billingAddress":
                try object(f, "PropertyAddress")
                try writeObject("PropertyAddress", f.selections, &out) { a, out throws(GraphQLError) in
                    try scalar(a, "String")
                    switch a.name {
                    case "street", "street1": out.string(c.street)
                    case "street2": out.string("")
                    case "city": out.string(c.city.0)
                    case "province": out.string("Texas")
                    case "postalCode": out.string(c.city.1)
                    case "country": out.string("United States")
                    default: return false
                    }
                    return true
                }
            default:
                return false
            }
            return true
        }
    }

    private func writeJob(_ j: Int, _ selections: [GraphQLDocument.Selection], _ out: inout JSONBuffer) throws(GraphQLError) {
        let v = data.job(j)
        try writeObject("Job", selections, &out) { f, out throws(GraphQLError) in
            switch f.name {
            case "id": try scalar(f, "EncodedId!"); out.string(data.encodedId("jobs", j))
            case "jobNumber": try scalar(f, "Int!"); out.int(j + 1)
            case "title": try scalar(f, "String"); out.string(v.title)
            case "jobStatus": try scalar(f, "JobStatusTypeEnum!"); out.string(v.status)
            case "jobType": try scalar(f, "JobTypeTypeEnum!"); out.string(v.recurring ? "RECURRING" : "ONE_OFF")
            case "startAt": try scalar(f, "ISO8601DateTime"); time(v.start, &out)
            case "endAt": try scalar(f, "ISO8601DateTime"); time(v.end, &out)
            case "completedAt": try scalar(f, "ISO8601DateTime"); time(v.completed, &out)
            case "createdAt": try scalar(f, "ISO8601DateTime!"); time(data.created("jobs", j), &out)
            case "updatedAt": try scalar(f, "ISO8601DateTime!"); time(updated("jobs", j), &out)
            case "total": try scalar(f, "Float!"); out.moneyNumber(cents: v.totalCents)
            case "instructions": try scalar(f, "String"); out.raw("null")
            case "jobberWebUri": try scalar(f, "String!"); out.string("https://secure.getjobber.com/work_orders/\(JobberData.numericBase("jobs") + j)")
            case "client":
                try object(f, "Client!")
                try writeClient(v.client, f.selections, &out)
            default:
                return false
            }
            return true
        }
    }

    private func writeQuote(_ q: Int, _ selections: [GraphQLDocument.Selection], _ out: inout JSONBuffer) throws(GraphQLError) {
        let v = data.quote(q)
        try writeObject("Quote", selections, &out) { f, out throws(GraphQLError) in
            switch f.name {
            case "id": try scalar(f, "EncodedId!"); out.string(data.encodedId("quotes", q))
            case "quoteNumber": try scalar(f, "String!"); out.string(String(q + 1))
            case "quoteStatus": try scalar(f, "QuoteStatusTypeEnum!"); out.string(v.status)
            case "title": try scalar(f, "String"); out.string(v.title)
            case "sentAt": try scalar(f, "ISO8601DateTime"); time(v.sent, &out)
            case "createdAt": try scalar(f, "ISO8601DateTime!"); time(data.created("quotes", q), &out)
            case "updatedAt": try scalar(f, "ISO8601DateTime!"); time(updated("quotes", q), &out)
            case "message": try scalar(f, "String"); out.raw("null")
            case "jobberWebUri": try scalar(f, "String!"); out.string("https://secure.getjobber.com/quotes/\(JobberData.numericBase("quotes") + q)")
            case "amounts":
                try object(f, "QuoteAmounts!")
                try writeObject("QuoteAmounts", f.selections, &out) { a, out throws(GraphQLError) in
                    try scalar(a, "Float!")
                    switch a.name {
                    case "subtotal": out.moneyNumber(cents: v.subtotalCents)
                    case "total": out.moneyNumber(cents: v.subtotalCents + v.taxCents)
                    case "taxAmount": out.moneyNumber(cents: v.taxCents)
                    case "discountAmount", "depositAmount", "outstandingDepositAmount": out.raw("0.0")
                    case "nonTaxAmount": out.moneyNumber(cents: v.subtotalCents)
                    default: return false
                    }
                    return true
                }
            case "client":
                try object(f, "Client")
                try writeClient(v.client, f.selections, &out)
            case "salesperson":
                try object(f, "User")
                if let u = v.salesperson { try writeUser(u, f.selections, &out) } else { out.raw("null") }
            default:
                return false
            }
            return true
        }
    }

    private func writeVisit(_ k: Int, _ selections: [GraphQLDocument.Selection], _ out: inout JSONBuffer) throws(GraphQLError) {
        let v = data.visit(k)
        let job = data.count("jobs") > 0 ? data.job(v.job) : nil
        try writeObject("Visit", selections, &out) { f, out throws(GraphQLError) in
            switch f.name {
            case "id": try scalar(f, "EncodedId!"); out.string(data.encodedId("visits", k))
            case "title": try scalar(f, "String"); out.string(job?.title ?? "Visit")
            case "visitStatus": try scalar(f, "VisitStatusTypeEnum!"); out.string(v.status)
            case "startAt": try scalar(f, "ISO8601DateTime"); time(v.start, &out)
            case "endAt": try scalar(f, "ISO8601DateTime"); time(v.start.map { $0 + 2 * 3_600 * SandboxTime.ticksPerSecond }, &out)
            case "completedAt": try scalar(f, "ISO8601DateTime"); time(v.completed, &out)
            case "isComplete": try scalar(f, "Boolean!"); out.bool(v.completed != nil)
            case "allDay": try scalar(f, "Boolean!"); out.bool(false)
            case "createdAt": try scalar(f, "ISO8601DateTime!"); time(data.created("visits", k), &out)
            case "instructions": try scalar(f, "String"); out.raw("null")
            case "job":
                try object(f, "Job")
                if job != nil { try writeJob(v.job, f.selections, &out) } else { out.raw("null") }
            case "client":
                try object(f, "Client!")
                if let job { try writeClient(job.client, f.selections, &out) } else { out.raw("null") }
            case "assignedUsers":
                _ = try writeConnection(f, items: v.users, typeName: "User", &out) { u, sel, out throws(GraphQLError) in
                    try writeUser(u, sel, &out)
                }
            default:
                return false
            }
            return true
        }
    }

    private func writeUser(_ u: Int, _ selections: [GraphQLDocument.Selection], _ out: inout JSONBuffer) throws(GraphQLError) {
        let v = data.user(u)
        try writeObject("User", selections, &out) { f, out throws(GraphQLError) in
            switch f.name {
            case "id": try scalar(f, "EncodedId!"); out.string(data.encodedId("users", u))
            case "status": try scalar(f, "UserStatus!"); out.string(v.active ? "ACTIVATED" : "DEACTIVATED")
            case "isAccountOwner": try scalar(f, "Boolean!"); out.bool(v.owner)
            case "isAccountAdmin": try scalar(f, "Boolean!"); out.bool(v.owner)
            case "createdAt": try scalar(f, "ISO8601DateTime!"); time(data.created("users", u), &out)
            case "name":
                try object(f, "Name!")
                try writeObject("Name", f.selections, &out) { n, out throws(GraphQLError) in
                    try scalar(n, "String!")
                    switch n.name {
                    case "first": out.string(v.first)
                    case "last": out.string(v.last)
                    case "full": out.string("\(v.first) \(v.last)")
                    default: return false
                    }
                    return true
                }
            case "email":
                try object(f, "Email!")
                try writeObject("Email", f.selections, &out) { e, out throws(GraphQLError) in
                    try scalar(e, "String!")
                    guard e.name == "raw" else { return false }
                    out.string(v.first.lowercased() + "@austincomfort.example")
                    return true
                }
            default:
                return false
            }
            return true
        }
    }
}
