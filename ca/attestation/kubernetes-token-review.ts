// In-cluster verification of a projected service-account token with the TokenReview API: the API
// server checks signature, expiry, audience and that the bound pod still exists.
import { TetherError } from '../../common/errors.js';
import type { KubernetesApi } from './kubernetes-api.js';
import { type KubernetesIdentity, parseServiceAccountUser } from './kubernetes-claims.js';
import type { TokenVerifier } from './kubernetes-jwt.js';

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

function invalid(message: string): TetherError {
  return new TetherError('ERR_CREDENTIAL_INVALID', `Kubernetes token refused: ${message}`);
}

export class TokenReviewVerifier implements TokenVerifier {
  constructor(
    private readonly api: () => Promise<KubernetesApi>,
    private readonly audience: string,
  ) {}

  async verify(token: string): Promise<KubernetesIdentity> {
    let review: Awaited<ReturnType<KubernetesApi['tokenReview']>>;
    try {
      review = await (await this.api()).tokenReview(token, [this.audience]);
    } catch (err) {
      throw new TetherError('ERR_CA_NOT_READY', 'the Kubernetes TokenReview API is unreachable', {
        cause: err,
      });
    }
    if (!review.authenticated)
      throw invalid(`the API server did not authenticate it${review.error ? ` (${review.error})` : ''}`);
    if (!review.audiences.includes(this.audience))
      throw invalid(`audience does not include ${this.audience}`);
    const { namespace, serviceAccount } = parseServiceAccountUser(review.username);
    const podName = review.extra[POD_NAME]?.[0];
    const podUid = review.extra[POD_UID]?.[0];
    // Secret-based legacy tokens authenticate too, but carry no pod binding.
    if (!podName || !podUid)
      throw invalid('the token is not bound to a pod (legacy secret-based tokens are not accepted)');
    return { namespace, serviceAccount, podName, podUid };
  }
}
