import XCTest
import TxnTensor
@testable import TxnTexNet

/// Generation on blocked maps (`MapGeneration`, what `TexNetGeneration` takes for widths in whole blocks) against
/// the channel-major reference (`TextureNetwork.generate`, itself held to PyTorch): whole images, both
/// normalisations, both paddings, non-square sizes, a batch of two, widths of one and two channel blocks.
final class MapGenerationTests: XCTestCase {
    func testBlockedMapsComputeTheReferenceImages() throws {
        for (width, noiseChannels, scales) in [(8, 3, 4), (16, 5, 3)] {
            for norm in TexNetNormalisation.allCases {
                for padding in [PaddingMode.reflect, .circular, .zero] {
                    let a = try TexNetArchitecture(scales: scales, width: width, noiseChannels: noiseChannels, normalisation: norm)
                    var rng = SplitMix64(seed: 77)
                    let net = TextureNetwork(a, rng: &rng)
                    for (_, p) in net.namedParameters { for i in p.value.indices { p.value[i] += 0.3 * (rng.nextUnit() - 0.5) } }
                    if norm == .batch {
                        let warm = try NoisePyramid.draw(a, batch: 2, height: 32, width: 32, rng: &rng)
                        for _ in 0..<3 { _ = try net.forwardTraining(warm, padding: padding) }
                    }
                    let z = try NoisePyramid.draw(a, batch: 2, height: 40, width: 56, rng: &rng)
                    let reference = try net.generate(z, padding: padding)
                    let blocked = try MapGeneration.generate(net, noise: z, padding: padding)
                    XCTAssertEqual([blocked.channels, blocked.batch, blocked.height, blocked.width], [3, 2, 40, 56])
                    let scale = reference.data.map { abs($0) }.max()!
                    let worst = zip(blocked.data, reference.data).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(worst / scale, 2e-5, "width \(width), \(norm), \(padding): worst \(worst) of \(scale)")
                }
            }
        }
    }

    /// At 256² the finest scale's 3x3 convolutions run in place in several bands of rows (about 86 rows each at two
    /// threads), so this crosses band borders and both image edges of the real sizes.
    func testBlockedMapsComputeTheReferenceImagesAcrossBandsOfRows() throws {
        let a = TexNetPreset.small.architecture()
        var rng = SplitMix64(seed: 5)
        let net = TextureNetwork(a, rng: &rng)
        for (_, p) in net.namedParameters { for i in p.value.indices { p.value[i] += 0.3 * (rng.nextUnit() - 0.5) } }
        let z = try NoisePyramid.draw(a, batch: 1, height: 256, width: 256, rng: &rng)
        for padding in [PaddingMode.reflect, .circular] {
            let reference = try net.generate(z, padding: padding)
            let blocked = try MapGeneration.generate(net, noise: z, padding: padding)
            let scale = reference.data.map { abs($0) }.max()!
            let worst = zip(blocked.data, reference.data).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst / scale, 2e-5, "\(padding): worst \(worst) of \(scale)")
        }
    }

    func testGenerationTakesTheBlockedPathForThePresetsAndPlansItsMemory() throws {
        for preset in TexNetPreset.allCases {
            let a = preset.architecture()
            XCTAssertTrue(MapGeneration.supports(a), "\(preset)")
            // 2048² in the small preset: the joined 40-channel map is 640 MiB and is the only full-size feature map
            // held with its 32-channel coarse source and the noise block's maps; far below the channel-major path's.
            let bytes = try a.generationBytes(width: 2048, height: 2048)
            XCTAssertLessThan(bytes, 1100 << 20, "\(preset): \(bytes >> 20) MiB")
            XCTAssertGreaterThan(bytes, 640 << 20, "\(preset): \(bytes >> 20) MiB")
        }
        XCTAssertFalse(MapGeneration.supports(try TexNetArchitecture(scales: 3, width: 12)))
    }
}
