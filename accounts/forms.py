from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.roles import SCHOOL_ROLES


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码不正确。",
        "inactive": "该账号已停用，请联系学校系统管理员。",
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].label = "用户名"
        self.fields["password"].label = "密码"


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput)
    new_password = forms.CharField(
        label="新密码",
        widget=forms.PasswordInput,
        help_text="至少10位，不能全是数字，不能与用户名或姓名相近。",
    )
    new_password_again = forms.CharField(label="再次输入新密码", widget=forms.PasswordInput)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "两次输入的新密码不一致。")
        return data


class SchoolUserForm(forms.Form):
    username = forms.CharField(label="工号（用户名）", max_length=30)
    full_name = forms.CharField(label="姓名", max_length=50)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    roles = forms.MultipleChoiceField(
        label="角色",
        choices=[(str(r), r.label) for r in SCHOOL_ROLES],
        widget=forms.CheckboxSelectMultiple,
    )
