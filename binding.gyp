# node-gyp build description for the tsbpf native addon (build/Release/tsbpf.node).
# Plain C against node_api.h; run automatically by `npm install` ("gypfile": true).
{
  "targets": [
    {
      "target_name": "tsbpf",
      "sources": ["native/tsbpf.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
