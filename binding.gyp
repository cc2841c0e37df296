{
  "targets": [
    {
      "target_name": "runts",
      "sources": ["native/addon/addon.cc", "native/addon/procfs.cc", "native/addon/bpf_devices.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "runts_sdbus",
      "sources": ["native/addon/sdbus.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2", "<!@(pkg-config --cflags libsystemd)"],
      "libraries": ["<!@(pkg-config --libs libsystemd)"]
    },
    {
      "target_name": "runts_loader",
      "sources": ["native/loader/loader.cc"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-cast-function-type", "-O2"]
    },
    {
      "target_name": "runts-init",
      "type": "executable",
      "sources": [
        "native/init/main.cc",
        "native/init/cgroups.cc",
        "native/init/json.cc",
        "native/init/procfs.cc",
        "native/init/channel.cc",
        "native/init/namespaces.cc",
        "native/init/rootfs.cc",
        "native/init/process.cc",
        "native/init/lsm.cc",
        "native/init/hooks.cc",
        "native/init/terminal.cc",
        "native/init/seccomp.cc"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Os", "-fno-exceptions", "-fno-rtti"],
      "ldflags": ["-static", "-s", "-Wl,--gc-sections"],
      "libraries": ["-lseccomp"]
    }
  ]
}
