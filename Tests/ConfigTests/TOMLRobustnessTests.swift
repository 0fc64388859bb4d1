import Foundation
import Testing

@testable import Config

/// A small deterministic generator, so a failing input can be reproduced.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct TOMLRobustnessTests {
    /// Mangled versions of the example config (bytes dropped, duplicated, replaced by TOML punctuation) must
    /// each load or be refused with lines inside the text — never crash, in the parser or in validation.
    @Test func mangledConfigsNeverCrash() throws {
        var random = SplitMix64(state: 2026)
        let original = Array(designExample.utf8)
        let punctuation = Array("[]{}=,.\"'\\#\n\r\t 0_-+:eE".utf8)
        var refused = 0
        for _ in 0..<2000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.remove(at: position)
                case 1: bytes.insert(bytes[position], at: position)
                default: bytes[position] = punctuation.randomElement(using: &random) ?? 0
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let lineCount = text.utf8.filter { $0 == UInt8(ascii: "\n") }.count + 1
            do {
                _ = try ConfigLoader.parse(text: text, path: "/fuzz.toml")
            } catch {
                refused += 1
                for problem in error.problems {
                    let line = try #require(problem.line)
                    #expect(line >= 1 && line <= lineCount)
                }
            }
        }
        #expect(refused > 100)
    }
}
