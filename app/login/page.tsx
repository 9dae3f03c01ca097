import { AuthForm } from '@/app/_components/auth-form';

export default function LoginPage() {
  return <AuthForm mode="login" />;
}
