import EnrollAPIModel
import EnrollAPIModel
import UnixHTTP
import XCTest

final class HTTPParserTests: XCTestCase {
    private func parse(_ text: String, limits: HTTPLimits = .default) throws -> HTTPRequest? {
        var parser = HTTPRequestParser(limits: limits)
        return try parser.feed(Array(text.utf8))
    }

    func testSimpleGet() throws {
        let request = try XCTUnwrap(
            parse("GET /v1/readers?x=1&name=a%20b HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"))
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.path, "/v1/readers")
        XCTAssertEqual(request.queryValue("name"), "a b")
        XCTAssertEqual(request.header("ACCEPT"), "*/*")
        XCTAssertEqual(request.pathSegments, ["v1", "readers"])
    }

    func testBodyArrivesInPieces() throws {
        var parser = HTTPRequestParser()
        XCTAssertNil(try parser.feed(Array("POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Len".utf8)))
        XCTAssertNil(try parser.feed(Array("gth: 5\r\n\r\nab".utf8)))
        let request = try XCTUnwrap(parser.feed(Array("cde".utf8)))
        XCTAssertEqual(request.body, Array("abcde".utf8))
    }

    func testLimitsAndMalformedRequests() {
        let small = HTTPLimits(maxHeaderBytes: 64, maxHeaderCount: 3, maxBodyBytes: 10)
        let cases: [(String, HTTPParseError)] = [
            ("GET /x HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "a", count: 100))\r\n\r\n", .headerTooLarge),
            ("GET /x HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", .tooManyHeaders),
            ("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n", .bodyTooLarge(11)),
            ("GET x HTTP/1.1\r\n\r\n", .malformedRequestLine),
            ("GET /x HTTP/2.0\r\n\r\n", .unsupportedVersion("HTTP/2.0")),
            ("GET /x HTTP/1.1\r\nNoColon\r\n\r\n", .malformedHeader("NoColon")),
            ("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
            ("POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", .duplicateContentLength),
            ("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingUnsupported),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try parse(text, limits: small), text) {
                XCTAssertEqual($0 as? HTTPParseError, expected, text)
            }
        }
        XCTAssertEqual(HTTPParseError.headerTooLarge.status, 431)
        XCTAssertEqual(HTTPParseError.bodyTooLarge(1).status, 413)
    }

    func testHeaderTooLargeDetectedBeforeTheEndArrives() {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxHeaderBytes: 32, maxHeaderCount: 8, maxBodyBytes: 10))
        XCTAssertThrowsError(try parser.feed(Array("GET /\(String(repeating: "a", count: 64))".utf8))) {
            XCTAssertEqual($0 as? HTTPParseError, .headerTooLarge)
        }
    }

    /// A head that ends right at the limit is accepted however the bytes arrive: also when its CRLF CRLF is split
    /// across two reads and the first read alone is longer than the limit (found by the `http` fuzz target's
    /// whole-versus-pieces check).
    func testHeadEndingAtTheLimitIsAcceptedWhenItsTerminatorArrivesSplit() throws {
        let limits = HTTPLimits(maxHeaderBytes: 32, maxHeaderCount: 8, maxBodyBytes: 10)
        let head = "GET /x HTTP/1.0\r\nX: " + String(repeating: "a", count: 12)
        XCTAssertEqual(head.utf8.count, 32)
        let bytes = Array((head + "\r\n\r\n").utf8)
        for split in 33...35 {
            var parser = HTTPRequestParser(limits: limits)
            XCTAssertNil(try parser.feed(bytes[..<split]), "split at \(split)")
            let request = try XCTUnwrap(parser.feed(bytes[split...]), "split at \(split)")
            XCTAssertEqual(request.header("x"), String(repeating: "a", count: 12))
        }
        var whole = HTTPRequestParser(limits: limits)
        XCTAssertNotNil(try whole.feed(bytes))
        var tooLong = HTTPRequestParser(limits: limits)
        XCTAssertThrowsError(
            try tooLong.feed(Array(("GET /x HTTP/1.1\r\nX: " + String(repeating: "a", count: 20)).utf8))
        ) {
            XCTAssertEqual($0 as? HTTPParseError, .headerTooLarge)
        }
    }

    /// Stricter than a browser needs, because a second parser (a proxy, the gateway) may read the same bytes
    /// differently: request smuggling and header confusion start where two readers disagree.
    func testContentLengthDigitsHostAndSingletonHeaders() {
        let cases: [(String, HTTPParseError)] = [
            ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", .invalidContentLength),
            ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", .invalidContentLength),
            ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", .invalidContentLength),
            ("GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n", .missingHost),
            ("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .duplicateHeader("Host")),
            (
                "GET /x HTTP/1.1\r\nHost: a\r\nX-Enrolld-Role: kiosk\r\nx-enrolld-role: admin\r\n\r\n",
                .duplicateHeader("x-enrolld-role")
            ),
            (
                "GET /x HTTP/1.1\r\nHost: a\r\nX-Enrolld-Channel: k1\rX-Enrolld-Role: admin\r\n\r\n",
                .malformedHeader("bare CR or LF in a header line")
            ),
            (
                "GET /x HTTP/1.1\r\nHost: a\r\nX-A: 1\nX-Enrolld-Role: admin\r\n\r\n",
                .malformedHeader("bare CR or LF in a header line")
            ),
            ("GET /x\n<5>certificate 01 signed HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
            ("GET /x\rX HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
            ("GET /x\tX HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try parse(text), text) { XCTAssertEqual($0 as? HTTPParseError, expected, text) }
        }
        // HTTP/1.0 needs no Host; distinct X-Enrolld-* headers are fine.
        XCTAssertNoThrow(try parse("GET /x HTTP/1.0\r\n\r\n"))
        XCTAssertNoThrow(
            try parse("GET /x HTTP/1.1\r\nHost: a\r\nX-Enrolld-Role: kiosk\r\nX-Enrolld-Channel: k\r\n\r\n"))
        XCTAssertEqual(HTTPParseError.missingHost.problem.code, "malformed-request")
    }

    func testNonASCIIInHeadIsRefused() {
        XCTAssertThrowsError(try parse("GET /x HTTP/1.1\r\nX: \u{00e9}\r\n\r\n")) {
            guard case .malformedHeader = $0 as? HTTPParseError else { return XCTFail("\($0)") }
        }
    }

    func testProblemResponseShape() throws {
        let response = HTTPResponse.problem(Problem(.notFound, detail: "no such reader"))
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(response.header("content-type"), "application/problem+json")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        XCTAssertEqual(object["code"] as? String, "not-found")
        XCTAssertEqual(object["status"] as? Int, 404)
        XCTAssertEqual(object["detail"] as? String, "no such reader")
    }

    /// One route may take a larger body (a liveness burst of frames): its Content-Length is checked against its own
    /// limit, every other route's against the common one, before any of the body is read.
    func testARouteBodyLimitAppliesToThatRouteOnly() throws {
        let limits = HTTPLimits(
            maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 10,
            routeBodyLimits: [
                RouteBodyLimit(
                    method: "POST", path: "/v1/enrollments/*/liveness",
                    maxBodyBytes: 100)
            ])
        let large = "POST /v1/enrollments/abc/liveness?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
        XCTAssertNil(try parse(large, limits: limits), "accepted, waiting for the body")
        for text in [
            "POST /v1/enrollments/abc/liveness HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n",
            "POST /v1/enrollments/abc/photo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
            "PUT /v1/enrollments/abc/liveness HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
            "POST /v1/enrollments/abc/liveness/challenge HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
        ] {
            XCTAssertThrowsError(try parse(text, limits: limits), text) {
                guard case .bodyTooLarge = $0 as? HTTPParseError else { return XCTFail("\($0)") }
            }
        }
    }

    func testAProblemWithADelayCarriesRetryAfter() {
        var problem = Problem(.faceEngineBusy)
        problem.retryAfter = 3
        XCTAssertEqual(HTTPResponse.problem(problem).header("retry-after"), "3")
        XCTAssertNil(HTTPResponse.problem(Problem(.notFound)).header("retry-after"))
    }
}
