import Foundation
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources

/// Cross-file checks: every reference between integrations, the model, mappings and
/// deployments resolves, and every value fits its target.
struct ProjectValidator {
    let project: Project
    let sink: DiagnosticSink
    let root: String
    let environment: (String) -> String?

    func error(_ at: SourceLocation, _ keyPath: String, _ message: String) {
        sink.add(Diagnostic(.error, at, keyPath: keyPath, message))
    }

    func warning(_ at: SourceLocation, _ keyPath: String, _ message: String) {
        sink.add(Diagnostic(.warning, at, keyPath: keyPath, message))
    }

    func validate() {
        let model = project.dataModel
        let entityNames = model.entities.map(\.name)
        var providers: [String: String] = [:]
        for file in project.integrations {
            let c = file.config
            let expected = fileStem(file.path)
            let at = c.providerLocation ?? c.location
            if !c.provider.isEmpty, c.provider != expected {
                error(at, "provider", "provider id '\(c.provider)' must match the file name '\(expected)'")
            }
            if let other = providers[c.provider] {
                error(at, "provider", "duplicate provider id '\(c.provider)' (also in \(other))")
            }
            providers[c.provider] = file.path
            validateIntegration(c, model: model, entityNames: entityNames)
        }
        for mapping in project.mappings {
            validateMapping(mapping, model: model, entityNames: entityNames)
        }
        validateDeployments()
    }

    func fileStem(_ path: String) -> String {
        var name = path.split(separator: "/").last.map(String.init) ?? path
        for ext in [".yaml", ".yml"] where name.hasSuffix(ext) { name = String(name.dropLast(ext.count)) }
        return name
    }

    // MARK: Integrations

    func validateIntegration(_ c: IntegrationConfig, model: DataModel, entityNames: [String]) {
        for cap in c.capabilities where model.entity(cap.value) == nil && project.model != nil {
            error(cap.location, cap.keyPath, "unknown entity '\(cap.value)'\(suggest(cap.value, entityNames))")
        }
        let credentialSlots = Set(c.auth.credentials.names)
        let fieldNames = Set(c.connectionFields.names)
        if let apiKey = c.auth.method as? APIKeyAuth, !credentialSlots.contains(apiKey.credential) {
            error(c.auth.location, "auth.api_key.credential",
                  "credential slot '\(apiKey.credential)' is not declared under auth.credentials")
        }
        if let signed = c.auth.method as? WebhookSignatureAuth, let signature = signed.signature,
            !credentialSlots.contains(signature.credential)
        {
            error(c.auth.location, "auth.signature.credential",
                  "credential slot '\(signature.credential)' is not declared under auth.credentials")
        }
        for header in c.auth.headers.entries {
            checkTemplate(header.value, at: header.location, keyPath: header.keyPath, fields: fieldNames,
                          credentials: credentialSlots, parent: nil)
            checkLiteralSecret(name: header.name, value: header.value, at: header.location, keyPath: header.keyPath)
        }
        if c.status != .available, !c.streams.isEmpty {
            let first = c.streams.entries[0]
            error(first.location, first.keyPath,
                  "integration status is '\(c.status.rawValue)': it declares no pull streams")
        }
        for stream in c.streams.entries where stream.value.lookupOnly && stream.value.frequency != nil {
            error(stream.value.location, stream.keyPath + ".frequency",
                  "a lookup-only stream is fetched when needed, not scheduled: it takes no frequency")
        }
        for stream in c.streams.entries {
            validateStream(stream, in: c, model: model, entityNames: entityNames, fields: fieldNames,
                           credentials: credentialSlots)
        }
        // Parent chains must end.
        for stream in c.streams.entries {
            var seen: Set<String> = [stream.name]
            var current = stream.value.parent?.stream.value
            while let name = current {
                if seen.contains(name) {
                    error(stream.value.location, stream.keyPath + ".parent.stream", "parent streams form a cycle")
                    break
                }
                seen.insert(name)
                current = c.streams[name]?.parent?.stream.value
            }
        }
    }

    func validateStream(
        _ entry: NamedMap<StreamConfig>.Entry, in c: IntegrationConfig, model: DataModel, entityNames: [String],
        fields: Set<String>, credentials: Set<String>
    ) {
        let s = entry.value
        if let entity = s.entity, project.model != nil, model.entity(entity.value) == nil {
            error(entity.location, entity.keyPath, "unknown entity '\(entity.value)'\(suggest(entity.value, entityNames))")
        }
        if let mapping = s.mapping {
            if let m = project.mapping(mapping.value) {
                if let target = m.target, let entity = s.entity, target.value != entity.value {
                    error(mapping.location, mapping.keyPath,
                          "mapping '\(mapping.value)' targets '\(target.value)' but the stream fills '\(entity.value)'")
                }
            } else if !project.unreadable.contains("mappings/\(mapping.value).yaml") {
                error(mapping.location, mapping.keyPath,
                      "mapping not found: mappings/\(mapping.value).yaml\(suggest(mapping.value, project.mappings.map(\.name)))")
            }
        }
        var parentBinds: Set<String>?
        if let parent = s.parent {
            if c.streams[parent.stream.value] == nil {
                error(parent.stream.location, parent.stream.keyPath,
                      "unknown stream '\(parent.stream.value)'\(suggest(parent.stream.value, c.streams.names))")
            }
            // Bindings are inherited down a fan-out chain (accounts → locations → reviews).
            var binds = Set(parent.bind.names)
            var seen: Set<String> = [entry.name]
            var ancestor = c.streams[parent.stream.value]
            while let a = ancestor, let p = a.parent, seen.insert(p.stream.value).inserted {
                binds.formUnion(p.bind.names)
                ancestor = c.streams[p.stream.value]
            }
            parentBinds = binds
        }
        if let fan = s.fanOut {
            if s.parent != nil {
                error(fan.field.location, fan.field.keyPath, "a stream fans out over a parent stream or a connection field, not both")
            }
            if let f = c.connectionFields[fan.field.value] {
                if f.type != .stringList {
                    error(fan.field.location, fan.field.keyPath, "fan_out needs a string_list connection field; '\(fan.field.value)' is \(f.type.rawValue)")
                }
            } else {
                error(fan.field.location, fan.field.keyPath,
                      "no connection field '\(fan.field.value)'\(suggest(fan.field.value, fields))")
            }
            for w in fan.with.entries {
                checkTemplate(w.value, at: w.location, keyPath: w.keyPath, fields: fields, credentials: credentials, parent: nil)
            }
            parentBinds = fan.bindings
        }
        checkTemplate(s.request.path.value, at: s.request.path.location, keyPath: s.request.path.keyPath,
                      fields: fields, credentials: credentials, parent: parentBinds)
        if !s.request.path.value.isEmpty, !s.request.path.value.hasPrefix("/"), !s.request.path.value.hasPrefix("https://"),
            !s.request.path.value.hasPrefix("http://")
        {
            error(s.request.path.location, s.request.path.keyPath, "a path starts with '/' or is an absolute http(s) URL")
        }
        for p in s.request.params.entries + s.request.headers.entries {
            checkTemplate(p.value, at: p.location, keyPath: p.keyPath, fields: fields, credentials: credentials,
                          parent: parentBinds)
            checkLiteralSecret(name: p.name, value: p.value, at: p.location, keyPath: p.keyPath)
        }
        if let body = s.request.body {
            checkTemplate(body, at: s.location, keyPath: entry.keyPath + ".request.body", fields: fields,
                          credentials: credentials, parent: parentBinds)
        }
    }

    static let pageVariables: Set<String> = ["size", "offset", "number", "token"]

    func checkTemplate(
        _ text: String, at location: SourceLocation, keyPath: String, fields: Set<String>, credentials: Set<String>,
        parent: Set<String>?
    ) {
        for v in Template(text).variables {
            switch v.namespace {
            case "connection":
                if !fields.contains(v.name) {
                    error(location, keyPath,
                          "{connection.\(v.name)}: no connection field '\(v.name)'\(suggest(v.name, fields))")
                }
            case "credentials":
                if !credentials.contains(v.name) {
                    error(location, keyPath,
                          "{credentials.\(v.name)}: no credential slot '\(v.name)' under auth.credentials\(suggest(v.name, credentials))")
                }
            case "parent":
                if let parent {
                    if !parent.contains(v.name) {
                        error(location, keyPath,
                              "{parent.\(v.name)}: parent.bind declares no '\(v.name)'\(suggest(v.name, parent))")
                    }
                } else {
                    error(location, keyPath, "{parent.\(v.name)} used but the stream has no parent")
                }
            case "run":
                if v.name != "date" { error(location, keyPath, "{run.\(v.name)}: a run has only {run.date}") }
            case "cursor":
                if v.name != "value" { error(location, keyPath, "{cursor.\(v.name)}: the cursor has only {cursor.value}") }
            case "page":
                if !ProjectValidator.pageVariables.contains(v.name) {
                    error(location, keyPath,
                          "{page.\(v.name)}: unknown; use {page.size}, {page.offset}, {page.number} or {page.token}")
                }
            default:
                error(location, keyPath,
                      "{\(v.namespace).\(v.name)}: unknown namespace '\(v.namespace)' (connection, credentials, parent, run, cursor, page)")
            }
        }
    }

    func checkLiteralSecret(name: String, value: String, at location: SourceLocation, keyPath: String) {
        let lowered = name.lowercased().replacingOccurrences(of: "-", with: "_")
        let secretish = ["key", "secret", "token", "password", "authorization"].contains { lowered.contains($0) }
        if secretish, Template(value).isConstant, value.count >= 8 {
            error(location, keyPath,
                  "looks like a literal secret; reference a credential slot instead, e.g. {credentials.\(lowered)}")
        }
    }

    // MARK: Mappings

    func validateMapping(_ file: Project.MappingFile, model: DataModel, entityNames: [String]) {
        let m = file.config
        let parts = file.name.split(separator: "/").map(String.init)
        let provider = parts.count == 2 ? parts[0] : nil
        let integration = provider.flatMap { project.integration($0) }
        if parts.count != 2 {
            warning(m.location, "", "mapping files live at mappings/<provider>/<stream>.yaml")
        } else if integration == nil, !project.unreadable.contains("integrations.d/\(parts[0]).yaml") {
            error(m.location, "", "no integration '\(parts[0])' in integrations.d/\(suggest(parts[0], project.integrations.map(\.config.provider)))")
        }
        let stream = integration.flatMap { i in i.streams.entries.first { $0.value.mapping?.value == file.name } }
        // A webhook-only integration has no streams: its deliveries go through its mapping.
        if let integration, stream == nil, integration.status != .webhookOnly {
            warning(m.location, "", "no stream of '\(parts[0])' uses this mapping")
        }
        guard let target = m.target, project.model != nil else { return }
        guard let entity = model.entity(target.value) else {
            error(target.location, target.keyPath, "unknown entity '\(target.value)'\(suggest(target.value, entityNames))")
            return
        }
        let enums = stream?.value.enums
        for f in m.fields.entries {
            if f.name == DeletionWrite.field {
                // The deletes step owns it: a mapped value would be overwritten, or undo a deletion.
                error(f.location, f.keyPath, "'\(f.name)' is set by the stream's deletes step; a mapping cannot fill it")
                continue
            }
            guard let field = entity.field(f.name) else {
                error(f.location, f.keyPath,
                      "entity '\(entity.name)' has no field '\(f.name)'\(suggest(f.name, entity.fields.map(\.name)))")
                continue
            }
            validateFieldMapping(f.value, field: field, entity: entity, enums: enums, integration: integration)
        }
    }

    func validateFieldMapping(
        _ f: FieldMappingConfig, field: ModelField, entity: EntityModel, enums: NamedMap<[String]>?,
        integration: IntegrationConfig?
    ) {
        if let cast = f.cast, !cast.fits(field.type) {
            error(f.castLocation ?? f.location, f.keyPath + ".cast", "cast '\(cast.kind)' cannot fill a \(field.type.rawValue) field")
        }
        if let each = f.each {
            if field.type != .json {
                error(f.eachLocation ?? f.location, f.keyPath + ".each", "'each' builds a list of objects: the field must be json, not \(field.type.rawValue)")
            }
            for sub in each.entries where sub.value.each != nil {
                error(sub.location, sub.keyPath, "nested 'each' is not supported")
            }
        }
        if let lookup = f.lookup, let integration, integration.streams[lookup.stream.value] == nil {
            error(lookup.stream.location, lookup.stream.keyPath,
                  "unknown stream '\(lookup.stream.value)' of '\(integration.provider)'\(suggest(lookup.stream.value, integration.streams.names))")
        }
        if let c = f.const { checkValue(c, fits: field, at: f.constLocation ?? f.location, keyPath: f.keyPath + ".const") }
        if let d = f.default { checkValue(d, fits: field, at: f.defaultLocation ?? f.location, keyPath: f.keyPath + ".default") }
        if f.onUnmapped == .passthrough, f.map != nil, field.type == .enumeration {
            error(f.onUnmappedLocation ?? f.location, f.keyPath + ".on_unmapped",
                  "passthrough stores the provider's unmapped value as is, and enum field '\(field.name)' holds only \(field.values.joined(separator: ", ")); use null or default, or make the field a string")
        }
        if let map = f.map {
            for e in map.entries {
                checkValue(e.value, fits: field, at: e.location, keyPath: e.keyPath)
            }
            if let from = f.from, let declared = enums?[from] {
                let covered = Set(map.names).union(f.unspecified)
                let missing = declared.filter { !covered.contains($0) }
                if !missing.isEmpty {
                    let message = "value map misses provider value\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", ")) of '\(from)'"
                    if f.onUnmapped == .fail {
                        error(f.mapLocation ?? f.location, f.keyPath + ".map", message)
                    } else {
                        warning(f.mapLocation ?? f.location, f.keyPath + ".map", message + " (on_unmapped: \(f.onUnmapped.rawValue))")
                    }
                }
                for key in map.entries where !declared.contains(key.name) {
                    warning(key.location, key.keyPath, "'\(key.name)' is not a declared value of '\(from)'\(suggest(key.name, declared))")
                }
            }
        } else if f.cast == nil, f.const == nil, f.each == nil, f.lookup == nil, field.type == .enumeration {
            warning(f.location, f.keyPath, "enum field filled without a value map: values outside \(field.values) will fail")
        }
    }

    func checkValue(_ value: JSONValue, fits field: ModelField, at location: SourceLocation, keyPath: String) {
        let ok: Bool
        switch (field.type, value) {
        case (_, .null): ok = true
        case (.enumeration, .string(let s)):
            if !field.values.contains(s) {
                error(location, keyPath,
                      "'\(s)' is not a value of enum field '\(field.name)' (\(field.values.joined(separator: ", ")))\(suggest(s, field.values))")
            }
            return
        case (.string, .string), (.text, .string), (.date, .string), (.timestamp, .string), (.json, _): ok = true
        case (.integer, .integer): ok = true
        case (.decimal, .integer), (.decimal, .number), (.decimal, .string): ok = true
        case (.boolean, .bool): ok = true
        default: ok = false
        }
        if !ok {
            error(location, keyPath, "\(describe(value)) does not fit \(field.type.rawValue) field '\(field.name)'")
        }
    }

    func describe(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "string '\(s)'"
        case .integer(let i): return "integer \(i)"
        case .number(let n): return "number \(n)"
        case .bool(let b): return "boolean \(b)"
        case .null: return "null"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    // MARK: Deployments

    func validateDeployments() {
        var connectionIds: [String: String] = [:]
        for d in project.deployments {
            var contractorIds: Set<String> = []
            for contractor in d.contractors {
                if let id = contractor.id, !contractorIds.insert(id.value).inserted {
                    error(id.location, id.keyPath, "duplicate contractor id '\(id.value)'")
                }
                for connection in contractor.connections {
                    if let id = connection.id {
                        if let other = connectionIds[id.value] {
                            error(id.location, id.keyPath, "duplicate connection id '\(id.value)' (also at \(other))")
                        } else {
                            connectionIds[id.value] = "\(id.location.file):\(id.location.line)"
                        }
                    }
                    validateConnection(connection, deployment: d)
                }
            }
        }
    }

    func validateConnection(_ c: ConnectionConfig, deployment: DeploymentConfig) {
        guard let integrationName = c.integration else { return }
        guard let integration = project.integration(integrationName.value) else {
            if project.unreadable.contains("integrations.d/\(integrationName.value).yaml") { return }
            error(integrationName.location, integrationName.keyPath,
                  "unknown integration '\(integrationName.value)'\(suggest(integrationName.value, project.integrations.map(\.config.provider)))")
            return
        }
        if let env = c.environment, integration.environments[env.value] == nil {
            error(env.location, env.keyPath,
                  "integration '\(integration.provider)' has no environment '\(env.value)'\(suggest(env.value, integration.environments.names))")
        }
        if !c.hosts.isEmpty {
            let used = apiHosts(of: integration)
            for h in c.hosts.entries where !used.contains(h.name) {
                error(h.location, h.keyPath,
                      "integration '\(integration.provider)' sends no API request to host '\(h.name)' (its hosts: \(used.sorted().joined(separator: ", ")))\(suggest(h.name, used))")
            }
        }
        for f in c.fields.entries {
            guard let declared = integration.connectionFields[f.name] else {
                error(f.location, f.keyPath,
                      "integration '\(integration.provider)' has no connection field '\(f.name)'\(suggest(f.name, integration.connectionFields.names))")
                continue
            }
            let fits: Bool
            switch (declared.type, f.value) {
            case (.string, .string): fits = true
            case (.string, .integer(let i)):
                // An unquoted id is a number to YAML (and `0123` would not survive as written).
                error(f.location, f.keyPath, "expected string, found \(describe(f.value)); quote it: \"\(i)\"")
                continue
            case (.string, .number), (.string, .bool):
                error(f.location, f.keyPath, "expected string, found \(describe(f.value)); quote the value")
                continue
            case (.integer, .integer): fits = true
            case (.boolean, .bool): fits = true
            case (.stringList, .array(let items)): fits = items.allSatisfy { $0.stringValue != nil }
            default: fits = false
            }
            if !fits {
                error(f.location, f.keyPath, "expected \(declared.type.rawValue), found \(describe(f.value))")
            }
        }
        // Fields that arrive on the OAuth callback (QuickBooks realmId → realm_id) are not written by hand.
        let fromCallback = Set(((integration.auth.method as? AuthorizationCodeGrant)?.callbackFields ?? []).map(snakeCase))
        for field in integration.connectionFields.entries
        where field.value.required && c.fields[field.name] == nil && !fromCallback.contains(field.name) {
            error(c.location, c.keyPath + ".fields.\(field.name)",
                  "integration '\(integration.provider)' requires connection field '\(field.name)'")
        }
        for cred in c.credentials.entries {
            // A refresh token given by reference seeds the sealed token store (headless set-up).
            let seed = cred.name == "refresh_token" && integration.auth.method is AuthorizationCodeGrant
            guard integration.auth.credentials[cred.name] != nil || seed else {
                error(cred.location, cred.keyPath,
                      "integration '\(integration.provider)' has no credential slot '\(cred.name)'\(suggest(cred.name, integration.auth.credentials.names))")
                continue
            }
            switch cred.value.reference {
            case .environment(let name):
                if environment(name) == nil {
                    warning(cred.value.location, cred.keyPath, "environment variable \(name) is not set")
                }
            case .file(let path):
                let full = path.hasPrefix("/") ? path : deployment.directory + "/" + path
                if !FileManagerShim.exists(full) {
                    warning(cred.value.location, cred.keyPath, "file \(path) does not exist")
                }
            case nil:
                break
            }
        }
        for slot in integration.auth.credentials.entries where slot.value.required && c.credentials[slot.name] == nil {
            error(c.location, c.keyPath + ".credentials.\(slot.name)",
                  "integration '\(integration.provider)' needs credential '\(slot.name)'")
        }
        if let streams = c.streams {
            for s in streams {
                if let stream = integration.streams[s.value] {
                    if stream.lookupOnly {
                        error(s.location, s.keyPath, "stream '\(s.value)' is lookup-only: it is fetched when needed, not enabled")
                    }
                } else {
                    error(s.location, s.keyPath,
                          "integration '\(integration.provider)' has no stream '\(s.value)'\(suggest(s.value, integration.streams.names))")
                }
            }
        }
        for entry in c.streamFrequencies.entries {
            if let stream = integration.streams[entry.name] {
                if stream.lookupOnly {
                    error(entry.location, entry.keyPath, "stream '\(entry.name)' is lookup-only: it is fetched when needed, not scheduled")
                } else if let enabled = c.streams, !enabled.contains(where: { $0.value == entry.name }) {
                    error(entry.location, entry.keyPath, "stream '\(entry.name)' is not in this connection's streams")
                }
            } else {
                error(entry.location, entry.keyPath,
                      "integration '\(integration.provider)' has no stream '\(entry.name)'\(suggest(entry.name, integration.streams.names))")
            }
        }
        if integration.status == .retired, c.autoSync {
            warning(c.location, c.keyPath + ".auto_sync",
                    "integration '\(integration.provider)' is retired: \(integration.statusNote ?? "nothing to sync")")
        }
    }

    /// Every host the integration's API URLs name: its base URL, its environments' and the
    /// absolute stream paths (a path template's host is literal text).
    func apiHosts(of integration: IntegrationConfig) -> Set<String> {
        var urls = [integration.baseURL].compactMap { $0 } + integration.environments.entries.compactMap(\.value.baseURL)
        urls += integration.streams.entries.map(\.value.request.path.value)
        var out = Set<String>()
        for u in urls {
            if let url = HTTPURL(u) {
                out.insert(url.host)
                if url.port != nil { out.insert(url.authority) }
            }
        }
        return out
    }

    func snakeCase(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch.isUppercase {
                if !out.isEmpty { out += "_" }
                out += ch.lowercased()
            } else {
                out.append(ch)
            }
        }
        return out
    }

    func suggest(_ word: String, _ candidates: some Sequence<String>) -> String {
        if let s = closestMatch(to: word, in: candidates), s != word { return "; did you mean '\(s)'?" }
        return ""
    }
}
