import { AuthForm } from '@/app/_components/auth-form';

export default function SignupPage() {
  return <AuthForm mode="signup" />;
}
