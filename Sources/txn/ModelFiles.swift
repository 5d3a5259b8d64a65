import Foundation
import TxnTensor

/// Where txn finds its weights: $TXN_MODELS_DIR, else Models/ beside the executable's package, else ./Models.
enum ModelFiles {
    static var directory: String {
        if let dir = EnvironmentSettings.modelsDirectory.value { return dir }
        // The executable lives in <package>/.build/<config>/txn: look for <package>/Models first.
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("Models/vgg_normalised.pth").path
            if FileManager.default.fileExists(atPath: candidate) { return dir.appendingPathComponent("Models").path }
            dir = dir.deletingLastPathComponent()
        }
        return "Models"
    }

    static var defaultWeights: String { directory + "/vgg_normalised.pth" }
}
