import { AuthForm } from '@/app/_components/auth-form';
import { safeNextPath } from '@/app/_lib/next-path';

export default async function SignupPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const q = await searchParams;
  const email = typeof q.email === 'string' ? q.email.slice(0, 254) : null;
  return <AuthForm mode="signup" next={safeNextPath(q.next)} email={email} />;
}
