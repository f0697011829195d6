from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from clients.phones import phone_normalize


class SignupForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": _("Enter your e-mail address.")},
    )
    contact_name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone_number = forms.CharField(
        label=_("WhatsApp number (optional)"),
        max_length=30,
        required=False,
        help_text=_("With the country code, for example +49 151 12345678."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    invite = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, region: str | None = None, **kwargs: Any) -> None:
        """`region`: the country whose national format the page reads (clients.phones)."""
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_phone_number(self) -> str:
        raw: str = self.cleaned_data["phone_number"].strip()
        if not raw:
            return ""
        try:
            return phone_normalize(raw, region=self.region)
        except ValueError:
            raise forms.ValidationError(
                _("Enter the number with its country code, for example +49 151 12345678.")
            ) from None
