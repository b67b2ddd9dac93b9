/// Jobs changed or added through the sandbox API, on top of the generated ones.
struct JobOverlay: Sendable {
    struct Entry: Sendable {
        var modified: Int64
        var id: Int64
        var index: Int
    }

    private(set) var changes: [Int: JobChange] = [:]
    /// Changed jobs in (modifiedOn, id) order; every change is stamped later than any generated record.
    private(set) var ordered: [Entry] = []
    /// Jobs appended after the generated ones (indices jobCount ..< jobCount + added).
    var added = 0
    /// Counts batches applied: a rendered export page is good while this is unchanged.
    private(set) var generation = 0

    var isEmpty: Bool { changes.isEmpty }

    /// Records a batch of changes, all stamped later than every earlier change.
    mutating func apply(_ batch: [(index: Int, id: Int64, change: JobChange)]) {
        guard !batch.isEmpty else { return }
        generation += 1
        let touched = Set(batch.map(\.index))
        ordered.removeAll { touched.contains($0.index) }
        for item in batch.sorted(by: { ($0.change.modified, $0.id) < ($1.change.modified, $1.id) }) {
            changes[item.index] = item.change
            ordered.append(Entry(modified: item.change.modified, id: item.id, index: item.index))
        }
    }

    /// First position in `ordered` strictly after an export position.
    func firstOrdered(after position: ExportPosition) -> Int {
        var lo = 0
        var hi = ordered.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if position.precedes(ticks: ordered[mid].modified, id: ordered[mid].id) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// Walks an export feed: the generated records in (modifiedOn, id) order, skipping those
/// the overlay replaced, then the overlay's records, stopping at `visibleUntil`.
struct ExportCursor {
    struct Item {
        var index: Int
        var change: JobChange?
        var modified: Int64
        var id: Int64
    }

    private let data: ServiceTitanData
    private let entity: STEntity
    private let overlay: JobOverlay
    private let visibleUntil: Int64
    private let baseCount: Int
    private var baseIndex: Int
    private var overlayIndex: Int

    init(data: ServiceTitanData, entity: STEntity, overlay: JobOverlay, after position: ExportPosition, visibleUntil: Int64) {
        self.data = data
        self.entity = entity
        self.overlay = overlay
        self.visibleUntil = visibleUntil
        baseCount = data.baseCount(entity)
        baseIndex = data.firstIndex(entity, after: position)
        overlayIndex = overlay.firstOrdered(after: position)
    }

    mutating func next() -> Item? {
        let checkOverlay = !overlay.isEmpty
        while baseIndex < baseCount {
            let i = baseIndex
            baseIndex += 1
            if checkOverlay, overlay.changes[i] != nil { continue }
            let modified = data.baseModified(entity, i)
            if modified > visibleUntil {
                baseIndex = baseCount
                break
            }
            return Item(index: i, change: nil, modified: modified, id: data.id(entity, i))
        }
        guard overlayIndex < overlay.ordered.count else { return nil }
        let entry = overlay.ordered[overlayIndex]
        guard entry.modified <= visibleUntil else { return nil }
        overlayIndex += 1
        return Item(index: entry.index, change: overlay.changes[entry.index], modified: entry.modified, id: entry.id)
    }
}

/// The records of a list endpoint (id order, optionally `modifiedOnOrAfter`), addressable by
/// position without materialising them: overlay jobs below the first matching generated
/// index, then the generated range, then added jobs.
struct ListSequence {
    let low: [Int]
    let range: Range<Int>
    let high: [Int]

    init(data: ServiceTitanData, entity: STEntity, overlay: JobOverlay, modifiedAtOrAfter: Int64?) {
        let base = data.baseCount(entity)
        let k = modifiedAtOrAfter.map { data.firstIndex(entity, modifiedAtOrAfter: $0) } ?? 0
        var low: [Int] = []
        var high: [Int] = []
        for (index, change) in overlay.changes {
            guard change.modified >= (modifiedAtOrAfter ?? Int64.min) else { continue }
            if index < k { low.append(index) } else if index >= base { high.append(index) }
        }
        self.low = low.sorted()
        self.high = high.sorted()
        range = k..<base
    }

    var count: Int { low.count + range.count + high.count }

    subscript(position: Int) -> Int {
        if position < low.count { return low[position] }
        let p = position - low.count
        if p < range.count { return range.lowerBound + p }
        return high[p - range.count]
    }
}
