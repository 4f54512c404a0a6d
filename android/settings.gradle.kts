// Gradle build for Android Studio users. NOT built on this project's machines (the Android
// Gradle Plugin, AndroidX and the NDK cannot be fetched there); see android/README.md.
pluginManagement {
    repositories { google(); mavenCentral(); gradlePluginPortal() }
}
dependencyResolutionManagement {
    repositories { google(); mavenCentral() }
}
rootProject.name = "gridline-android"
include(":sdk", ":app")
