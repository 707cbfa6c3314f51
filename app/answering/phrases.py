"""Every fixed English sentence the answer writers put around the hotel's own words.

Kept in one place so that it can be translated: the composer only fills these templates.
The hand-over message itself is :data:`app.answering.types.FALLBACK_MESSAGE`.
"""

from __future__ import annotations

# Guest reviews, summarised and attributed (never stated as the hotel's own facts).
# {total}: reviews that mention the subject; {agree}: how many share the majority's view.
REVIEWS_POSITIVE = "Most guests who mention it are positive ({agree} of {total} reviews)"
REVIEWS_NEGATIVE = "Most guests who mention it are critical ({agree} of {total} reviews)"
REVIEWS_ALL_POSITIVE = "The {total} guest reviews that mention it are all positive"
REVIEWS_ALL_NEGATIVE = "The {total} guest reviews that mention it are all critical"
REVIEWS_MIXED = "Guest reviews are mixed on this ({positive} positive, {negative} critical)"
REVIEWS_ONE = "One guest review mentions it"
REVIEWS_NEUTRAL = "{total} guest reviews mention it"
# A short quotation from one review; {quote} is the guest's own words.
REVIEW_QUOTE = "one guest wrote: “{quote}”"
REVIEW_DISSENT = "one review disagrees: “{quote}”"
