import { AuthForm } from '../_components/auth-form';

export default function LoginPage() {
  return <AuthForm mode="login" />;
}
