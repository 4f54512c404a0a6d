// The SDK as an Android library (AAR): the same Kotlin sources the Maven build tests on the JVM,
// plus the native library for each ABI built with cargo-ndk, and bindings generated with
// android_cleaner = true (bindings/uniffi.toml). `checkAarJniLibs` (run by `assemble`) fails the
// build when the AAR lacks jni/<abi>/libgridline_ffi.so for any ABI.
import java.util.zip.ZipFile

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val repoRoot: File = rootProject.projectDir.parentFile
val generatedBindings = layout.buildDirectory.dir("generated/uniffi")
val nativeLibs = layout.buildDirectory.dir("jniLibs")
/** The phone ABIs shipped in the AAR. */
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

/** The host's file name of the library that uniffi-bindgen reads the interface from. */
val hostLibrary: String = System.getProperty("os.name").lowercase().let { os ->
    when {
        "mac" in os || "darwin" in os -> "libgridline_ffi.dylib"
        "windows" in os -> "gridline_ffi.dll"
        else -> "libgridline_ffi.so"
    }
}
val cargoTarget: File = System.getenv("CARGO_TARGET_DIR")?.let(::File) ?: repoRoot.resolve("target")

android {
    namespace = "org.gridline.sdk"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets.getByName("main") {
        kotlin.srcDirs("src/main/kotlin", "src/android/kotlin", generatedBindings)
        // `nativeLibs` is the project-level folder above; inside this block a bare `jniLibs`
        // would name the source set's own property.
        jniLibs.srcDir(nativeLibs)
    }
    compileOptions { sourceCompatibility = JavaVersion.VERSION_17; targetCompatibility = JavaVersion.VERSION_17 }
    kotlinOptions { jvmTarget = "17" }
}

/** Builds libgridline_ffi.so for the phone ABIs (needs `cargo install cargo-ndk` and the NDK). */
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        listOf("cargo", "ndk") + abis.flatMap { listOf("-t", it) } +
            listOf("-o", nativeLibs.get().asFile.path, "build", "--release", "--locked", "-p", "gridline-ffi"),
    )
    outputs.dir(nativeLibs)
}

/** Generates the Kotlin bindings from the host build of the same library (library mode). */
val uniffiBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("cargo", "build", "--locked", "-p", "gridline-ffi", "-p", "uniffi-bindgen")
    doLast {
        project.exec {
            workingDir = repoRoot
            commandLine(
                cargoTarget.resolve("debug/uniffi-bindgen").path, "generate",
                "--library", cargoTarget.resolve("debug/$hostLibrary").path,
                "--language", "kotlin", "--no-format",
                "--out-dir", generatedBindings.get().asFile.path,
            )
        }
    }
    outputs.dir(generatedBindings)
}

tasks.named("preBuild") { dependsOn(cargoNdk, uniffiBindings) }

/** Fails when a built AAR lacks the native library of any ABI. */
val checkAarJniLibs by tasks.registering {
    dependsOn("bundleReleaseAar", "bundleDebugAar")
    doLast {
        val aars = layout.buildDirectory.dir("outputs/aar").get().asFile.listFiles { f -> f.extension == "aar" }.orEmpty()
        check(aars.isNotEmpty()) { "no AAR under build/outputs/aar" }
        for (aar in aars) {
            val entries = ZipFile(aar).use { zip -> zip.entries().asSequence().map { it.name }.toSet() }
            val missing = abis.map { "jni/$it/libgridline_ffi.so" }.filterNot(entries::contains)
            check(missing.isEmpty()) { "${aar.name} lacks $missing" }
        }
    }
}

tasks.named("assemble") { finalizedBy(checkAarJniLibs) }

dependencies {
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("com.squareup.okhttp3:okhttp:4.12.0")
    implementation("androidx.annotation:annotation:1.9.1")
}
