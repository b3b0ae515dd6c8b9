import Foundation

/// SplitMix64: the same seed gives the same inputs, so a failure found by a seeded fuzz test
/// reproduces exactly. Shared by every test target's fuzzing.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Inputs per fuzz target: CHATBENCH_FUZZ_ITERATIONS for long runs, a short run otherwise.
public let fuzzIterations = Int(ProcessInfo.processInfo.environment["CHATBENCH_FUZZ_ITERATIONS"] ?? "") ?? 4000
