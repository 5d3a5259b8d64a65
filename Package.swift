// swift-tools-version:6.0
import PackageDescription

// Code is built for the `haswell` CPU (AVX2, FMA, BMI2: any x86-64 since 2013, all Zen cores). Without a target CPU
// the Swift compiler lowers `.addingProduct` on SIMD vectors to one libm `fmaf` call per lane.
// Override with TXN_TARGET_CPU=native (or any LLVM CPU name) for the machine you build on.
let targetCPU = Context.environment["TXN_TARGET_CPU"] ?? "haswell"

// Release builds are -O (SwiftPM's default) with whole-module optimisation, for every target: bounds and overflow
// checks stay on, above all where input is untrusted (the unpickler, the image codecs, the parser). -Ounchecked
// was measured and gave nothing measurable (`txn bench --sizes 128,256 --repeats 7`, 2 threads, shared 2-core
// machine; forward / forward+backward / L-BFGS iteration in s):
//   all -Ounchecked:               128: 0.032 / 0.093 / 0.102   256: 0.089 / 0.304 / 0.333
//   all -O (two runs):             128: 0.033 / 0.097 / 0.114   256: 0.092 / 0.273 / 0.368
//                                  128: 0.032 / 0.096 / 0.102   256: 0.090 / 0.272 / 0.319
//   -O, TxnTensor -Ounchecked:     128: 0.033 / 0.105 / 0.111   256: 0.089 / 0.272 / 0.305
//                                  128: 0.033 / 0.093 / 0.121   256: 0.089 / 0.270 / 0.350
// The heavy math is oneDNN and OpenBLAS; the Swift loops around it are not where the time goes. A target whose
// inner kernels show a real gain may add -Ounchecked for itself, with its numbers here.
let swiftFast: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU]),
    .unsafeFlags(["-wmo"], .when(configuration: .release)),
]
let cFast: [CSetting] = [
    .unsafeFlags(["-march=\(targetCPU)", "-O3"]),
]

let package = Package(
    name: "txn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "txn", targets: ["txn"]),
        .library(name: "TxnFiles", targets: ["TxnFiles"]),
        .library(name: "TxnTensor", targets: ["TxnTensor"]),
        .library(name: "TxnImage", targets: ["TxnImage"]),
        .library(name: "TxnCheckpoint", targets: ["TxnCheckpoint"]),
        .library(name: "TxnVGG", targets: ["TxnVGG"]),
        .library(name: "TxnSynthesis", targets: ["TxnSynthesis"]),
        .library(name: "TxnPlot", targets: ["TxnPlot"]),
        .library(name: "TxnGAN", targets: ["TxnGAN"]),
        .library(name: "TxnTexNet", targets: ["TxnTexNet"]),
        .library(name: "TxnNotebook", targets: ["TxnNotebook"]),
        .library(name: "TxnServer", targets: ["TxnServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // System libraries (Debian: libedit-dev libopenblas-dev libpng-dev libjpeg-dev libdnnl-dev).
        .systemLibrary(name: "CLibEdit", pkgConfig: "libedit",
                       providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        // oneDNN ships no pkg-config file; its module map links libdnnl directly.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // Process start in C: checks, before any code built for `targetCPU` runs, that the CPU has what that code
        // needs (a one-line message instead of SIGILL), and the parent-death signal of txn's child processes.
        // Compiled for the baseline x86-64, so no cFast here.
        .target(name: "CStartup",
                cSettings: targetCPU == "haswell" ? [.define("TXN_REQUIRES_AVX2")] : []),

        // libpng and libjpeg report errors with longjmp/exit: this C layer turns them into return codes.
        .target(name: "CImageCodec", dependencies: ["CPNG", "CJPEG"], cSettings: cFast),

        // The layers of txn, bottom up. TxnFiles: the one way files are read (regular, bounded) and written (atomic,
        // never over a device or a link), for the tensors' readers and the checkpoints alike.
        .target(name: "TxnFiles", swiftSettings: swiftFast),
        // txn's own F(2x2, 3x3) Winograd kernel, for the CPUs where oneDNN has none (AVX2).
        .target(name: "CKernels", cSettings: cFast),
        .target(name: "TxnTensor", dependencies: ["COpenBLAS", "CDNNL", "CKernels"], swiftSettings: swiftFast),
        .target(name: "TxnImage", dependencies: ["CImageCodec", "TxnFiles", "TxnTensor"], swiftSettings: swiftFast),
        .target(name: "TxnCheckpoint", dependencies: ["TxnFiles"], swiftSettings: swiftFast),
        .target(name: "TxnVGG", dependencies: ["TxnFiles", "TxnTensor", "TxnCheckpoint"], swiftSettings: swiftFast),
        .target(name: "TxnSynthesis", dependencies: ["TxnFiles", "TxnTensor", "TxnVGG", "TxnImage"], swiftSettings: swiftFast),
        .target(name: "TxnPlot", dependencies: ["TxnImage", "TxnTensor"], swiftSettings: swiftFast),
        .target(name: "TxnGAN", dependencies: ["TxnTensor", "TxnImage", "TxnCheckpoint"], swiftSettings: swiftFast),
        // Texture networks (issue 20): a feed-forward generator trained with the Gatys loss of TxnSynthesis.
        .target(name: "TxnTexNet", dependencies: ["TxnFiles", "TxnTensor", "TxnImage", "TxnCheckpoint", "TxnVGG", "TxnSynthesis"],
                swiftSettings: swiftFast),
        .target(name: "TxnNotebook",
                dependencies: ["TxnFiles", "TxnTensor", "TxnImage", "TxnCheckpoint", "TxnVGG", "TxnSynthesis", "TxnPlot", "TxnGAN",
                               "TxnTexNet"],
                swiftSettings: swiftFast),
        // `txn serve`: the web page (Hummingbird 2; the page is compiled in, from Page/). It speaks only notebook: a job
        // is notebook statements, and what it reads of the layers beneath comes through TxnNotebook (`Hosting`).
        .target(name: "TxnServer",
                dependencies: ["TxnFiles", "TxnImage", "TxnNotebook",
                               .product(name: "Hummingbird", package: "hummingbird")],
                swiftSettings: swiftFast),
        // The program, with its REPL and libedit's editing line (`LineEditor`), as clox keeps `repl()` in main.c.
        .executableTarget(
            name: "txn",
            dependencies: [
                "CStartup", "CLibEdit", "CDNNL", "COpenBLAS", "TxnFiles", "TxnTensor", "TxnImage", "TxnCheckpoint", "TxnVGG", "TxnSynthesis",
                "TxnNotebook", "TxnGAN", "TxnServer", "TxnTexNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftFast),

        // Helpers shared by the test targets (where the weights and reference data are).
        .target(name: "TxnTestSupport", path: "Tests/TxnTestSupport"),
        .testTarget(name: "TxnTensorTests", dependencies: ["TxnTensor", "CKernels"], swiftSettings: swiftFast),
        .testTarget(name: "TxnImageTests", dependencies: ["TxnImage", "TxnTensor", "TxnFiles", "TxnTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftFast),
        .testTarget(name: "TxnCheckpointTests", dependencies: ["TxnCheckpoint", "TxnTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftFast),
        .testTarget(name: "TxnSynthesisTests", dependencies: ["TxnSynthesis", "TxnVGG", "TxnImage", "TxnTensor", "TxnTestSupport"],
                    swiftSettings: swiftFast),
        .testTarget(name: "TxnGANTests", dependencies: ["TxnGAN", "TxnTensor", "TxnCheckpoint", "TxnImage", "TxnTestSupport"],
                    swiftSettings: swiftFast),
        .testTarget(name: "TxnTexNetTests",
                    dependencies: ["TxnTexNet", "TxnTensor", "TxnCheckpoint", "TxnImage", "TxnVGG", "TxnSynthesis", "TxnTestSupport"],
                    swiftSettings: swiftFast),
        .testTarget(name: "TxnPlotTests", dependencies: ["TxnPlot", "TxnImage"], swiftSettings: swiftFast),
        .testTarget(name: "TxnNotebookTests", dependencies: ["TxnNotebook", "TxnImage", "TxnVGG", "TxnTensor", "TxnTexNet", "TxnTestSupport"],
                    swiftSettings: swiftFast),
        .testTarget(name: "TxnVGGTests", dependencies: ["TxnVGG", "TxnSynthesis", "TxnCheckpoint", "TxnTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftFast),
        // The program's own parts that need no terminal (the line editor's history file, completion layout).
        .testTarget(name: "txnTests", dependencies: ["txn"], exclude: ["pty"], swiftSettings: swiftFast),
        .testTarget(name: "TxnServerTests",
                    dependencies: ["TxnServer", "TxnNotebook", "TxnImage", "TxnTestSupport",
                                   .product(name: "HummingbirdTesting", package: "hummingbird")],
                    swiftSettings: swiftFast),
    ],
    swiftLanguageModes: [.v5]
)
