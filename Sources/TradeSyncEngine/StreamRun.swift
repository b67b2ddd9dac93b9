import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

struct StreamRun {
    let runner: SyncRunner
    let runtime: ConnectionRuntime
    let requester: Requester
    let options: SyncOptions
    /// Applies each page's plan, or (dry run) only computes it.
    let pages: any PageSink
    let logger: Logger
    var lookups = LookupTables()
    var fetchedLookups: Set<String> = []
    var parentRecords: [String: [([String: String], [JSONValue])]] = [:]
    /// The run's sync-log row (nil in a dry run): every page adds its counts to it.
    let runId: String?
    let redactor: SecretRedactor

    init(runner: SyncRunner, runtime: ConnectionRuntime, requester: Requester, options: SyncOptions, pages: any PageSink,
         runId: String?, redactor: SecretRedactor, logger: Logger) {
        self.runner = runner
        self.pages = pages
        self.runtime = runtime
        self.requester = requester
        self.options = options
        self.runId = runId
        self.redactor = redactor
        self.logger = logger
    }

    /// Every page write of this run adds to the run's counts (the sink fences it by the lease).
    func pageWrite(entity: EntityModel, stream: String, records: [MappedRecord], cursor: String?, fetched: Int,
                   failures: [FailedRecord], resolved: [String], rawPage: RawPage? = nil,
                   raws: [RawPayload] = []) -> PageWrite {
        let connection = runtime.record
        var write = PageWrite(
            integrationId: connection.id, demoId: connection.demoId, entity: entity, stream: stream, records: records,
            cursor: cursor, now: currentMicros(),
            run: runId.map { RunCounts(runId: $0, fetched: fetched, failed: failures.count) },
            failures: failures, resolvedFailures: resolved)
        write.rawPage = rawPage
        write.raws = raws
        write.replayable = true
        return write
    }

    /// Maps the stream's kept failed records again under today's mapping: those that map now are
    /// written (and their kept failure cleared), the others stay kept with today's reason.
    /// Returns the external ids still kept. A dry run reports what the retry would recover.
    func retryKeptFailures(_ name: String, entity: EntityModel, preparer: RecordPreparer, keepRaw: Bool,
                           into result: inout StreamResult, failures: inout [RecordFailure]) async throws -> Set<String> {
        let kept = try await pages.records.keptFailures(integrationId: runtime.record.id, stream: name, limit: Int(Int32.max))
        guard !kept.isEmpty else { return [] }
        var stillKept = Set<String>()
        for chunk in stride(from: 0, to: kept.count, by: 1_000).map({ Array(kept[$0..<min($0 + 1_000, kept.count)]) }) {
            var records: [MappedRecord] = []
            var resolved: [String] = []
            var failed: [FailedRecord] = []
            var raws = keepRaw ? RawPageBuilder() : nil
            for k in chunk {
                let raw = (try? JSONValue.parse(Array(k.rawJSON.utf8))) ?? .null
                switch preparer.prepare(raw) {
                case .mapped(let record):
                    records.append(record)
                    resolved.append(k.externalId)
                    raws?.append(externalId: record.externalId, text: k.rawJSON)
                case .failed(let failure, let keep):
                    // Keyed as before, so the kept row is updated rather than doubled.
                    var keep = keep
                    keep.externalId = k.externalId
                    failed.append(keep)
                    failures.append(RecordFailure(stream: failure.stream, externalId: k.externalId, reason: failure.reason))
                    stillKept.insert(k.externalId)
                }
            }
            let outcome = try await pages.commit(pageWrite(
                entity: entity, stream: name, records: records, cursor: nil, fetched: 0, failures: failed, resolved: resolved,
                rawPage: records.isEmpty ? nil : raws?.finish()))
            result.retried += chunk.count
            result.recovered += records.count
            result.failed += failed.count
            result.inserted += outcome.inserted
            result.updated += outcome.updated
            result.unchanged += outcome.unchanged
        }
        logger.info("retried kept failed records", metadata: [
            "stream": "\(name)", "retried": "\(result.retried)", "recovered": "\(result.recovered)",
        ])
        return stillKept
    }

    /// Binding contexts of a stream: one per record of its parent chain.
    mutating func contexts(_ name: String) async throws -> [[String: String]] {
        if let fan = integration.streams[name]?.fanOut { return try fanOutContexts(fan) }
        guard let stream = integration.streams[name], let parent = stream.parent else { return [[:]] }
        var out: [[String: String]] = []
        for ctx in try await contexts(parent.stream.value) {
            let records: [JSONValue]
            if let cached = parentRecords[parent.stream.value]?.first(where: { $0.0 == ctx })?.1 {
                records = cached
            } else {
                records = try await fetchAll(parent.stream.value, parent: ctx)
                parentRecords[parent.stream.value, default: []].append((ctx, records))
            }
            for r in records {
                var c = ctx
                for b in parent.bind.entries { c[b.name] = r.value(at: JSONPath(b.value))?.scalarText ?? "" }
                out.append(c)
            }
        }
        return out
    }

    /// A lookup stream's records are kept like any stream's (`keep_raw`), under their lookup key,
    /// so `plan` and `apply` can re-map a stream that looks them up. No rows: an empty page.
    func keepLookupPayloads(_ stream: String, records: [JSONValue], key: JSONPath) async throws {
        guard integration.streams[stream]?.keepRaw ?? true, !records.isEmpty else { return }
        var raws: [RawPayload] = []
        let compressor = RawCompressor()
        for r in records {
            guard let k = r.value(at: key)?.scalarText else { continue }
            raws.append(RawPayload(externalId: k, compressed: compressor.deflate(r.jsonText)))
        }
        var write = pageWrite(entity: EntityModel(name: "", table: "", fields: []), stream: stream, records: [], cursor: nil,
                              fetched: 0, failures: [], resolved: [], raws: raws)
        write.run = nil
        _ = try await pages.commit(write)
    }

    mutating func prepareLookups(_ rules: [FieldRule]) async throws {
        var needed: [(String, JSONPath)] = []
        func collect(_ rs: [FieldRule]) {
            for r in rs {
                if let l = r.lookup { needed.append((l.stream, l.key)) }
                if let e = r.each { collect(e) }
            }
        }
        collect(rules)
        for (stream, key) in needed where !fetchedLookups.contains(stream) {
            fetchedLookups.insert(stream)
            var records: [JSONValue] = []
            for ctx in try await contexts(stream) { records += try await fetchAll(stream, parent: ctx) }
            lookups.add(stream: stream, records: records, key: key)
            try await keepLookupPayloads(stream, records: records, key: key)
            logger.debug("lookup fetched", metadata: ["stream": "\(stream)", "records": "\(records.count)"])
        }
    }

    mutating func sync(stream name: String, into result: inout StreamResult, failures: inout [RecordFailure]) async throws {
        guard let stream = integration.streams[name], let entityName = stream.entity?.value,
            let entity = runner.project.dataModel.entity(entityName)
        else { throw RunnerError.unknownStream(name, integration: integration.provider) }
        guard let mappingName = stream.mapping?.value, let mapping = runner.project.mapping(mappingName) else {
            throw RunnerError.configuration("stream '\(name)' has no mapping")
        }
        let rules = MappingCompiler.rules(mapping)
        try await prepareLookups(rules)
        let timestampField = stream.cursor?.kind == .timestamp ? stream.cursor?.field.map(JSONPath.init) : nil
        let preparer = RecordPreparer(
            stream: name, primaryKey: JSONPath(stream.primaryKey), primaryKeyText: stream.primaryKey,
            mapper: RecordMapper(entity: entity, rules: rules), lookups: lookups, redactor: redactor,
            extraPaths: timestampField.map { [$0] } ?? [])
        let keepRaw = stream.keepRaw
        var stillKept = try await retryKeptFailures(name, entity: entity, preparer: preparer, keepRaw: keepRaw, into: &result,
                                                    failures: &failures)
        let connection = runtime.record
        let storedCursor = options.fullRefresh ? nil : try await pages.records.cursor(integrationId: connection.id, stream: name)
        let contexts = try await contexts(name)
        if let budget = stream.budget { try await checkBudget(budget, requests: contexts.count) }
        let continuation = stream.cursor?.kind == .continuationToken
        // Newest-first listings of providers that cannot filter (stop_when_older) keep one
        // timestamp per fan-out context and stop below it.
        let newestFirst = stream.cursor?.stopWhenOlder == true && timestampField != nil
        let storedNewest = NewestFirstCursor(stored: newestFirst ? storedCursor : nil)
        var newestSeen: [String: (micros: Int64, text: String)] = [:]
        var maxTimestamp: (micros: Int64, text: String)?
        let started = currentMicros()
        let fanOut = stream.parent != nil || stream.fanOut != nil
        for (contextIndex, ctx) in contexts.enumerated() {
            let contextKey = NewestFirstCursor.key(ctx)
            let contextCursor = newestFirst ? storedNewest.value(for: contextKey) : storedCursor
            let stopBelow: Int64? = newestFirst ? contextCursor.flatMap { Timestamp.parse($0) } : nil
            var paginator = try self.paginator(
                stream, parent: ctx, startToken: continuation ? storedCursor : nil,
                cursor: continuation ? nil : contextCursor)
            // A fan-out record gets its `_parent`, so it is built, and kept as written out.
            paginator.recordsAsBytes = !fanOut
            let parentObject = JSONValue.object(JSONObject(ctx.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) }))
            let source = PageSource(paginator, readsAhead: stopBelow == nil) { page in
                var prepared = PreparedPage(fetched: page.count, isLast: page.isLast, nextToken: page.nextToken,
                                            records: [], failures: [], kept: [], maxTimestamp: nil)
                prepared.records.reserveCapacity(page.count)
                var raws = keepRaw ? RawPageBuilder(expectedBytes: page.body.count) : nil
                let built = page.spans == nil ? page.records : []
                for index in 0..<page.count {
                    let outcome: RecordPreparer.Outcome
                    var cursorText: String?
                    var rawText: String?
                    if let spans = page.spans {
                        let read = preparer.prepare(bytes: page.body[spans[index]])
                        outcome = read.outcome
                        cursorText = read.extras.first??.scalarText
                    } else {
                        var record = built[index]
                        if fanOut, case .object(var o) = record {
                            o["_parent"] = parentObject
                            record = .object(o)
                            rawText = keepRaw ? record.jsonText : nil
                        }
                        outcome = preparer.prepare(record)
                        cursorText = timestampField.flatMap { record.value(at: $0)?.scalarText }
                    }
                    let micros = cursorText.flatMap { Timestamp.parse($0) }
                    // Failed records count too: they are kept, so stopping past them loses nothing.
                    if let stopBelow, let micros, micros < stopBelow { prepared.reachedCursor = true }
                    switch outcome {
                    case .mapped(let mapped):
                        prepared.records.append(mapped)
                        if let rawText {
                            raws?.append(externalId: mapped.externalId, text: rawText)
                        } else if raws != nil {
                            raws?.append(externalId: mapped.externalId, bytes: page.rawBytes(index))
                        }
                        if let micros, let cursorText, micros > (prepared.maxTimestamp?.micros ?? Int64.min) {
                            prepared.maxTimestamp = (micros, cursorText)
                        }
                    case .failed(let failure, let keep):
                        prepared.failures.append(failure)
                        prepared.kept.append(keep)
                    }
                }
                if let raws, raws.count > 0 { prepared.rawPage = raws.finish() }
                return prepared
            }
            // Pages being mapped, in order. Reading ahead, two are mapped at once while the page
            // before them is written: mapping is the longest stage, and one task maps on one core.
            var fetching = source.fetch(after: nil)
            var pending: [Task<PreparedPage?, any Error>] = [source.prepared(fetching)]
            if source.readsAhead {
                fetching = source.fetch(after: fetching)
                pending.append(source.prepared(fetching))
                fetching = source.fetch(after: fetching)
            }
            defer {
                for task in pending { task.cancel() }
                fetching.cancel()
            }
            // The previous page, still committing, where the store overlaps page writes: this page's
            // rows are written meanwhile, and it commits after it (`RecordWriter.applyPage(_:after:)`).
            var inFlight: (task: Task<PageOutcome, any Error>, ids: Set<String>)?
            func add(_ outcome: PageOutcome) {
                result.inserted += outcome.inserted
                result.updated += outcome.updated
                result.unchanged += outcome.unchanged
                options.progress?(SyncProgress(stream: name, pages: result.pages, fetched: result.fetched,
                                               elapsedSeconds: Double(currentMicros() - started) / 1e6))
            }
            do {
                // A cancelled run (a worker shutting down) stops at a page boundary: the page being
                // fetched is dropped, the committed ones stay, and the cursor is where they left it.
                while let task = pending.first,
                    let prepared = try await withTaskCancellationHandler(operation: { try await task.value },
                                                                         onCancel: { task.cancel() })
                {
                    pending.removeFirst()
                    // A newest-first listing that reached the stored cursor ends here: the next page is
                    // not even requested.
                    let ends = prepared.isLast || prepared.reachedCursor
                    if ends {
                        for rest in pending { rest.cancel() }
                        pending = []
                    } else if source.readsAhead {
                        // The pages after it are fetched already (or being fetched): map the next one
                        // too, fetch the one after.
                        pending.append(source.prepared(fetching))
                        fetching = source.fetch(after: fetching)
                    } else {
                        fetching = source.fetch(after: nil)
                        pending = [source.prepared(fetching)]
                    }
                    result.pages += 1
                    result.fetched += prepared.fetched
                    result.failed += prepared.failures.count
                    for f in prepared.failures {
                        logger.warning("record failed mapping", metadata: ["stream": "\(name)", "external_id": "\(f.externalId)", "reason": "\(f.reason)"])
                    }
                    failures += prepared.failures
                    if let m = prepared.maxTimestamp {
                        if m.micros > (maxTimestamp?.micros ?? Int64.min) { maxTimestamp = m }
                        if m.micros > (newestSeen[contextKey]?.micros ?? Int64.min) { newestSeen[contextKey] = m }
                    }
                    // The cursor moves with the page that reached it: continuation tokens page by page,
                    // a timestamp only once the whole stream is in (records need not arrive in order),
                    // that is after the last page of the last fan-out context, or the page where a
                    // newest-first listing reached the stored cursor. A run that stops earlier leaves
                    // the cursor where it was, so the next run reads the same records again.
                    // Records that failed are kept in the same transaction, so moving past them loses nothing.
                    var cursor: String?
                    if continuation {
                        cursor = prepared.nextToken
                    } else if timestampField != nil, ends, contextIndex == contexts.count - 1 {
                        if newestFirst {
                            // Contexts gone since the last run drop out; one without records keeps its entry.
                            var next: [String: String] = [:]
                            for c in contexts {
                                let key = NewestFirstCursor.key(c)
                                if let v = newestSeen[key]?.text ?? storedNewest.value(for: key) { next[key] = v }
                            }
                            cursor = NewestFirstCursor(byContext: next).text
                        } else {
                            cursor = maxTimestamp?.text ?? storedCursor
                        }
                    }
                    var resolved: [String] = []
                    if !stillKept.isEmpty {
                        for r in prepared.records {
                            if stillKept.remove(r.externalId) != nil { resolved.append(r.externalId) }
                        }
                    }
                    let write = pageWrite(entity: entity, stream: name, records: prepared.records, cursor: cursor,
                                          fetched: prepared.fetched, failures: prepared.kept, resolved: resolved,
                                          rawPage: prepared.rawPage)
                    guard pages.overlapsCommits else {
                        add(try await pages.commit(write))
                        try Task.checkCancellation()
                        continue
                    }
                    // Pages that share an external id (a record that moved between pages while the
                    // listing was read) are written one after the other: the second must see the first's rows.
                    var ids = Set(prepared.records.map(\.externalId))
                    for k in prepared.kept { ids.insert(k.externalId) }
                    if let previous = inFlight, !previous.ids.isDisjoint(with: ids) {
                        inFlight = nil
                        add(try await previous.task.value)
                    }
                    let sink = pages
                    let previous = inFlight
                    // Recorded before the previous page is awaited: if that one failed, this one
                    // (which commits only after it) is awaited too, rolled back, before the error goes up.
                    inFlight = (Task {
                        guard let previous else { return try await sink.commit(write) }
                        return try await sink.commit(write, after: { _ = try await previous.task.value })
                    }, ids)
                    // At most two pages in flight: the previous one has committed before the next is read.
                    if let previous { add(try await previous.task.value) }
                    try Task.checkCancellation()
                }
                if let last = inFlight {
                    inFlight = nil
                    add(try await last.task.value)
                }
            } catch {
                // No write outlives the run: a page still committing ends (committed or rolled
                // back) before the error goes up.
                if let last = inFlight, let outcome = try? await last.task.value { add(outcome) }
                throw error
            }
        }
        try await syncDeletions(name, stream: stream, entity: entity, streamCursorBefore: storedCursor,
                                listingStarted: started, into: &result)
    }
}
