import { PacelineError, formatIssues, type ConfigIssue } from '@paceline/model';

export type MembershipErrorCode = 'MEMBERSHIP_CONFIG_INVALID' | 'KEY_INVALID' | 'MESSAGE_TOO_LARGE';

export class MembershipError extends PacelineError<MembershipErrorCode> {
  constructor(
    code: MembershipErrorCode,
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  static fromIssues(issues: readonly ConfigIssue[]): MembershipError {
    return new MembershipError('MEMBERSHIP_CONFIG_INVALID', formatIssues(issues, 'membership configuration'), issues);
  }
}
