import Foundation

/// The only file-system access of the configuration layer: reading files and listing folders.
enum FileManagerShim {
    /// The raw bytes: decoding is `ConfigText`'s job, so that bad UTF-8 is reported, not replaced.
    static func read(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Size in bytes (following symlinks), so an oversized file is refused before it is read;
    /// nil for anything but a regular file (reading a FIFO or a device could block or never end).
    static func regularFileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    /// The path with every symlink resolved (nil when it cannot be, e.g. a symlink loop).
    static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    static func isYAML(_ name: String) -> Bool { name.hasSuffix(".yaml") || name.hasSuffix(".yml") }

    /// YAML files below a folder, sorted, as paths relative to it. Symlinked folders and files
    /// are followed, as Kubernetes mounts ConfigMaps as symlinks (`key -> ..data/key`,
    /// `..data -> ..2024_…`). Dot-entries are skipped, so those hidden targets are not read a
    /// second time, and a folder already on the way down is not entered again (symlink loops).
    static func yamlFiles(under directory: String, recursive: Bool) -> [String] {
        guard isDirectory(directory) else { return [] }
        var out: [String] = []
        var entered: Set<String> = []
        func walk(_ folder: String, _ prefix: String, depth: Int) {
            guard depth < 32, let real = resolved(folder), entered.insert(real).inserted else { return }
            defer { entered.remove(real) }
            let items = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for item in items where !item.hasPrefix(".") {
                let path = folder + "/" + item
                if isDirectory(path) {
                    if recursive { walk(path, prefix + item + "/", depth: depth + 1) }
                } else if isYAML(item) {
                    out.append(prefix + item)
                }
            }
        }
        walk(directory, "", depth: 0)
        return out.sorted()
    }

    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}
