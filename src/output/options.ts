/** Options every output format accepts; each format reads only the ones it needs. */
export interface RenderOptions {
  /**
   * Colour the table with ANSI escapes (default false). The caller decides, from the
   * stream's TTY status, `NO_COLOR` and `--color`; formats never look at the environment.
   */
  color?: boolean;
}
