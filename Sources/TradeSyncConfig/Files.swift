import Foundation

/// The only file-system access of the configuration layer: reading files and listing folders.
enum FileManagerShim {
    static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// YAML files below a folder, sorted, as paths relative to it.
    static func yamlFiles(under directory: String, recursive: Bool) -> [String] {
        guard isDirectory(directory) else { return [] }
        var out: [String] = []
        if recursive {
            guard let e = FileManager.default.enumerator(atPath: directory) else { return [] }
            while let item = e.nextObject() as? String {
                if item.hasSuffix(".yaml") || item.hasSuffix(".yml") { out.append(item) }
            }
        } else {
            let items = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            out = items.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        }
        return out.sorted()
    }

    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}
