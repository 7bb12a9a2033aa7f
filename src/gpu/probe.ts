// Asks the dynamic loader itself whether a library loads: the same dlopen(3) search ONNX Runtime's
// provider bridge does (LD_LIBRARY_PATH, the ld.so cache, the default folders), so a missing
// library is named exactly as the loader names it, transitive dependencies included.

/**
 * null when `library` (a soname such as "libcudart.so.13", or a path) loads; otherwise the
 * loader's message, e.g. "libcublasLt.so.13: cannot open shared object file: No such file or
 * directory". process.dlopen is used as a plain dlopen: a library that loads but is no Node
 * addon is reported by Node as "did not self-register", which here means it loads.
 */
export function loaderError(library: string): string | null {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, library);
    return null;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.startsWith('Module did not self-register') ? null : message;
  }
}

/** The library the loader could not find, from its message ("<name>: cannot open shared object file"). */
export function missingLibrary(loaderMessage: string): string | undefined {
  const m = /^([^\s:]+): cannot open shared object file/.exec(loaderMessage);
  return m ? m[1]!.slice(m[1]!.lastIndexOf('/') + 1) : undefined;
}
