import Foundation
import UnixHTTP

/// The apps' files: plain HTML, CSS, ES modules, JSON string tables and images under one root directory
/// (`web/` in the source tree, `/usr/share/enroll-kiosk/web` installed). `/` is the app's `index.html`; the app's
/// own folder and `common/` are served, nothing else (the counter gateway serves no kiosk file and the reverse).
struct StaticFiles: Sendable {
    let root: URL
    let app: String
    /// Largest file served: the apps' files are small; anything bigger is a mistake in the root.
    static let maxFileBytes = 2 * 1024 * 1024

    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "json": "application/json",
        "png": "image/png",
        "svg": "image/svg+xml",
        "ico": "image/x-icon",
        "txt": "text/plain; charset=utf-8",
    ]

    /// The file for a request path, or nil when there is none to serve (404).
    func response(for path: String) -> HTTPResponse? {
        let relative = path == "/" ? "\(app)/index.html" : String(path.dropFirst())
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        // Plain names only: no empty, dot or hidden segments, no encoded characters, one of the two folders.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard segments.count >= 2, segments.count <= 6, segments[0] == app || segments[0] == "common",
            segments.allSatisfy({
                !$0.isEmpty && !$0.hasPrefix(".") && $0.count <= 80 && $0.allSatisfy(allowed.contains)
            }),
            let dot = relative.lastIndex(of: "."),
            let type = Self.contentTypes[String(relative[relative.index(after: dot)...])]
        else { return nil }
        let file = root.appendingPathComponent(relative).resolvingSymlinksInPath()
        guard file.path.hasPrefix(root.resolvingSymlinksInPath().path + "/"),
            let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = attributes[.size] as? Int, size <= Self.maxFileBytes,
            let data = FileManager.default.contents(atPath: file.path)
        else { return nil }
        return HTTPResponse(
            status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache")],
            body: [UInt8](data))
    }
}
