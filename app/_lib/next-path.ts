/** A same-site path to go to after logging in (`?next=`), or null: never another origin. */
export function safeNextPath(value: string | string[] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v || !v.startsWith('/') || v.startsWith('//') || v.startsWith('/\\') || v.length > 300) return null;
  return v;
}
