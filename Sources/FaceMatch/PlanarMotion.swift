import Foundation

/// The depth check's geometry: does a set of face points move between two frames the way the points of one plane
/// do? Every view of a flat photo or screen (moved, scaled, tilted, seen in perspective) maps its points from one
/// frame to another by a single homography; a real head that turns does not, because the nose, eyes, cheeks and
/// mouth lie at different depths (motion parallax).
///
/// The score is the RMS distance between the points and the best homography's prediction, in eye spans of the
/// reference frame. A few gross outliers (lost tracks) are dropped before the final fit: at most a fifth of the
/// points, only those over four times the median residual.
public enum PlanarMotion {
    /// The residual of the best homography from `reference` to `current` (same count, at least 6 pairs), in units
    /// of `scale` (pixels per eye span); nil with fewer pairs or a degenerate configuration.
    public static func residual(from reference: [FacePoint], to current: [FacePoint], scale: Double) -> Double? {
        guard reference.count == current.count, reference.count >= 6, scale > 0 else { return nil }
        var source = reference
        var target = current
        guard var homography = Homography.fit(from: source, to: target) else { return nil }
        var errors = zip(source, target).map { homography.distance(from: $0, to: $1) }
        let median = errors.sorted()[errors.count / 2]
        let limit = max(4 * median, 1e-9)
        let outliers = errors.enumerated().filter { $0.element > limit }.sorted { $0.element > $1.element }
            .prefix(source.count / 5).map(\.offset)
        if !outliers.isEmpty, source.count - outliers.count >= 6 {
            let dropped = Set(outliers)
            source = source.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
            target = target.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
            guard let refit = Homography.fit(from: source, to: target) else { return nil }
            homography = refit
            errors = zip(source, target).map { homography.distance(from: $0, to: $1) }
        }
        let meanSquare = errors.reduce(0) { $0 + $1 * $1 } / Double(errors.count)
        return meanSquare.squareRoot() / scale
    }
}

/// A 3x3 projective map with h33 = 1, fitted by linear least squares on Hartley-normalised points.
struct Homography {
    var h: [Double]  // row-major, 9 values

    func apply(_ point: FacePoint) -> FacePoint? {
        let w = h[6] * point.x + h[7] * point.y + h[8]
        guard abs(w) > 1e-12 else { return nil }
        return FacePoint(
            x: (h[0] * point.x + h[1] * point.y + h[2]) / w,
            y: (h[3] * point.x + h[4] * point.y + h[5]) / w)
    }

    func distance(from source: FacePoint, to target: FacePoint) -> Double {
        guard let mapped = apply(source) else { return .infinity }
        let dx = mapped.x - target.x
        let dy = mapped.y - target.y
        return (dx * dx + dy * dy).squareRoot()
    }

    /// Nil for fewer than 4 pairs or a singular system.
    static func fit(from source: [FacePoint], to target: [FacePoint]) -> Homography? {
        guard source.count == target.count, source.count >= 4,
            let (normalisedSource, sourceMatrix) = normalise(source),
            let (normalisedTarget, targetMatrix) = normalise(target)
        else { return nil }
        // Two equations per pair in the 8 unknowns h11...h32 (h33 = 1): normal equations A^T A x = A^T b.
        var normal = [Double](repeating: 0, count: 64)
        var right = [Double](repeating: 0, count: 8)
        for (p, q) in zip(normalisedSource, normalisedTarget) {
            let rows: [([Double], Double)] = [
                ([p.x, p.y, 1, 0, 0, 0, -p.x * q.x, -p.y * q.x], q.x),
                ([0, 0, 0, p.x, p.y, 1, -p.x * q.y, -p.y * q.y], q.y),
            ]
            for (row, value) in rows {
                for i in 0..<8 {
                    right[i] += row[i] * value
                    for j in 0..<8 { normal[i * 8 + j] += row[i] * row[j] }
                }
            }
        }
        guard let solution = solve(normal, right, size: 8) else { return nil }
        let normalised = solution + [1]
        // H = T_target^-1 * Hn * T_source.
        let product = multiply(inverseSimilarity(targetMatrix), multiply(normalised, sourceMatrix))
        guard abs(product[8]) > 1e-12 else { return nil }
        return Homography(h: product.map { $0 / product[8] })
    }

    /// Centroid to the origin, mean distance sqrt(2); the similarity as a row-major 3x3.
    private static func normalise(_ points: [FacePoint]) -> ([FacePoint], [Double])? {
        let count = Double(points.count)
        let cx = points.reduce(0) { $0 + $1.x } / count
        let cy = points.reduce(0) { $0 + $1.y } / count
        let spread =
            points.reduce(0) { $0 + (($1.x - cx) * ($1.x - cx) + ($1.y - cy) * ($1.y - cy)).squareRoot() }
            / count
        guard spread > 1e-9, spread.isFinite else { return nil }
        let s = 2.0.squareRoot() / spread
        let matrix = [s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1]
        return (points.map { FacePoint(x: s * ($0.x - cx), y: s * ($0.y - cy)) }, matrix)
    }

    private static func inverseSimilarity(_ m: [Double]) -> [Double] {
        let s = m[0]
        return [1 / s, 0, -m[2] / s, 0, 1 / s, -m[5] / s, 0, 0, 1]
    }

    private static func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: 9)
        for i in 0..<3 {
            for j in 0..<3 {
                for k in 0..<3 { out[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j] }
            }
        }
        return out
    }

    /// Gaussian elimination with partial pivoting; nil when singular.
    private static func solve(_ matrix: [Double], _ vector: [Double], size n: Int) -> [Double]? {
        var a = matrix
        var b = vector
        for column in 0..<n {
            var pivot = column
            for row in column..<n where abs(a[row * n + column]) > abs(a[pivot * n + column]) { pivot = row }
            guard abs(a[pivot * n + column]) > 1e-12 else { return nil }
            if pivot != column {
                for k in 0..<n { a.swapAt(column * n + k, pivot * n + k) }
                b.swapAt(column, pivot)
            }
            for row in (column + 1)..<n {
                let factor = a[row * n + column] / a[column * n + column]
                guard factor != 0 else { continue }
                for k in column..<n { a[row * n + k] -= factor * a[column * n + k] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for k in (row + 1)..<n { sum -= a[row * n + k] * x[k] }
            x[row] = sum / a[row * n + row]
        }
        return x
    }
}

extension PlanarMotion {
    /// The depth evidence of a burst: per frame the same points in the same order (nil where a point was not
    /// found), compared with the reference frame `reference`.
    public struct BurstScore: Sendable, Equatable {
        /// The largest residual over the frames compared (eye spans); 0 when none could be compared.
        public var score: Double
        /// The frame with the largest residual.
        public var frame: Int?
        /// Frames with enough shared points (at least 6) to be compared.
        public var comparedFrames: Int
        /// The fewest shared points in a compared frame.
        public var fewestPoints: Int
    }

    /// Residual of every frame against the reference frame, in eye spans of the reference frame.
    public static func burstScore(points: [[FacePoint?]], reference: Int, eyeSpan: Double) -> BurstScore {
        var result = BurstScore(score: 0, frame: nil, comparedFrames: 0, fewestPoints: 0)
        guard points.indices.contains(reference), eyeSpan > 0 else { return result }
        let base = points[reference]
        for (index, frame) in points.enumerated() where index != reference {
            var source: [FacePoint] = []
            var target: [FacePoint] = []
            for (position, point) in frame.enumerated() where position < base.count {
                if let point, let origin = base[position] {
                    source.append(origin)
                    target.append(point)
                }
            }
            guard let residual = residual(from: source, to: target, scale: eyeSpan) else { continue }
            result.fewestPoints = result.comparedFrames == 0 ? source.count : min(result.fewestPoints, source.count)
            result.comparedFrames += 1
            if residual > result.score || result.frame == nil {
                result.score = residual
                result.frame = index
            }
        }
        return result
    }
}
