// The SDK as an Android library (AAR): the same Kotlin sources the Maven build tests on the JVM,
// plus the native library for each ABI built with cargo-ndk, and bindings generated with
// android_cleaner = true (bindings/uniffi.toml).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val repoRoot = rootProject.projectDir.parentFile
val generated = layout.buildDirectory.dir("generated/uniffi")
val jniLibs = layout.buildDirectory.dir("jniLibs")

android {
    namespace = "org.gridline.sdk"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].apply {
        kotlin.srcDirs("src/main/kotlin", "src/android/kotlin", generated)
        jniLibs.srcDir(jniLibs)
    }
    compileOptions { sourceCompatibility = JavaVersion.VERSION_17; targetCompatibility = JavaVersion.VERSION_17 }
    kotlinOptions { jvmTarget = "17" }
}

/** Builds libgridline_ffi.so for the phone ABIs (needs `cargo install cargo-ndk` and the NDK). */
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniLibs.get().asFile.path, "build", "--release", "-p", "gridline-ffi",
    )
}

/** Generates the Kotlin bindings from the host build of the same library (library mode). */
val uniffiBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("bash", "-c",
        "cargo build -p gridline-ffi -p uniffi-bindgen && target/debug/uniffi-bindgen generate " +
        "--library target/debug/libgridline_ffi.so --language kotlin --no-format --out-dir " + generated.get().asFile.path)
}

tasks.named("preBuild") { dependsOn(cargoNdk, uniffiBindings) }

dependencies {
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("com.squareup.okhttp3:okhttp:4.12.0")
    implementation("androidx.annotation:annotation:1.9.1")
}
