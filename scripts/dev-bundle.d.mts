import type { BuildOptions } from "esbuild";
export declare function devBundleOptions(root: string, outfile: string): BuildOptions;
