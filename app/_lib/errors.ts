/** A person-readable message for a failed tRPC call (zod field errors first). */
export function errorMessage(err: unknown): string {
  const e = err as {
    message?: string;
    data?: { zodError?: { fieldErrors?: Record<string, string[] | undefined> } | null };
  };
  const fields = e?.data?.zodError?.fieldErrors;
  if (fields) {
    const first = Object.entries(fields).find(([, v]) => v && v.length);
    if (first) return `${first[0]}: ${first[1]![0]}`;
  }
  return e?.message ?? 'Something went wrong';
}
