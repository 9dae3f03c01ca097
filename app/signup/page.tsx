import { AuthForm } from '../_components/auth-form';

export default function SignupPage() {
  return <AuthForm mode="signup" />;
}
